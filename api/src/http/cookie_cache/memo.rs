//! `session_data` values already opened. A browser sends the same value with every request
//! until the cookie is re-issued, so its seal (HMAC, JWT signature or JWE decryption), the
//! schema check and get-session's answer are worked out once per value and kept, keyed by the
//! exact value: the same bytes can only hold what was verified the first time. What changes
//! with the clock (the cookie's and the session's expiry) or with other events (a revocation,
//! a newer user, a version bump) is still checked on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use super::CachedSession;

/// How many opened values are kept (about 3 KiB each). When full the memo starts over,
/// which costs one full open per cookie still in use.
const CAPACITY: usize = 1024;

/// A `session_data` value whose seal held.
#[derive(Debug)]
pub struct OpenedCookie {
    pub cached: CachedSession,
    /// The cookie's own expiry, in ms since the epoch.
    pub expires_at_ms: f64,
    /// get-session's JSON answer from this cookie.
    pub answer: Bytes,
}

#[derive(Debug, Default)]
pub(super) struct Memo {
    opened: Mutex<HashMap<Box<str>, Arc<OpenedCookie>>>,
}

impl Memo {
    pub(super) fn get(&self, value: &str) -> Option<Arc<OpenedCookie>> {
        self.opened.lock().expect("memo lock").get(value).cloned()
    }

    pub(super) fn put(&self, value: &str, opened: OpenedCookie) -> Arc<OpenedCookie> {
        let opened = Arc::new(opened);
        let mut memo = self.opened.lock().expect("memo lock");
        if memo.len() >= CAPACITY {
            memo.clear();
        }
        memo.insert(value.into(), opened.clone());
        opened
    }
}
