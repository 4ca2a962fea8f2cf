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

/// Values are looked up by their length and last bytes, then compared whole. The tail of
/// every seal is its signature or authentication tag, so it tells values apart as well as
/// the whole would, at a fraction of the hashing (a value is about 700 bytes). Only values
/// whose seal held are stored, so nobody can fill a bucket with look-alikes.
const TAIL: usize = 48;
type Tail = (usize, [u8; TAIL]);

fn tail(value: &str) -> Tail {
    let bytes = value.as_bytes();
    let end = &bytes[bytes.len().saturating_sub(TAIL)..];
    let mut tail = [0; TAIL];
    tail[..end.len()].copy_from_slice(end);
    (bytes.len(), tail)
}

/// One opened value and the value itself, to compare whole.
#[derive(Debug)]
struct Entry {
    value: Box<str>,
    opened: Arc<OpenedCookie>,
}

#[derive(Debug, Default)]
pub(super) struct Memo {
    opened: Mutex<HashMap<Tail, Entry>>,
}

impl Memo {
    pub(super) fn get(&self, value: &str) -> Option<Arc<OpenedCookie>> {
        let memo = self.opened.lock().expect("memo lock");
        let entry = memo.get(&tail(value))?;
        (*entry.value == *value).then(|| entry.opened.clone())
    }

    pub(super) fn put(&self, value: &str, opened: OpenedCookie) -> Arc<OpenedCookie> {
        let opened = Arc::new(opened);
        let mut memo = self.opened.lock().expect("memo lock");
        if memo.len() >= CAPACITY {
            memo.clear();
        }
        memo.insert(
            tail(value),
            Entry {
                value: value.into(),
                opened: opened.clone(),
            },
        );
        opened
    }
}
