//! The in-process session cache: the second rung of get-session's hot path (after the cookie
//! cache, before the database).
//!
//! Entries are dropped synchronously when this process commits an event that changes what
//! get-session would answer (a refresh, a revocation, a profile change, a deletion), so this
//! instance never serves a stale session. Another instance learns of such a change when the
//! entry's time to live runs out, which bounds how long a session revoked elsewhere can still
//! be served (one second by default).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use authlog_eventstore::RecordedEvent;
use authlog_projections::read::{SessionRow, UserRow};

/// Sessions by token hash, with indexes to drop them by session or by user.
#[derive(Debug)]
pub(crate) struct SessionCache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Entries>,
    /// Bumped by every eviction. A reader notes it before reading the database and only
    /// caches what it read if no eviction happened meanwhile: otherwise a row read just
    /// before a commit could be cached just after the commit evicted it.
    generation: AtomicU64,
}

#[derive(Debug, Default)]
struct Entries {
    by_token_hash: HashMap<String, Entry>,
    token_hash_by_session: HashMap<String, String>,
    token_hashes_by_user: HashMap<String, Vec<String>>,
}

#[derive(Debug, Clone)]
struct Entry {
    session: SessionRow,
    user: UserRow,
    fetched_at: Instant,
}

impl SessionCache {
    /// A zero `ttl` turns the cache off.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            inner: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The eviction count, to pass back to [`SessionCache::put`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn get(&self, token_hash: &str) -> Option<(SessionRow, UserRow)> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.inner.lock().expect("cache lock");
        let entry = entries.by_token_hash.get(token_hash)?;
        (entry.fetched_at.elapsed() < self.ttl).then(|| (entry.session.clone(), entry.user.clone()))
    }

    /// Caches rows read from the database, unless an eviction happened since `generation`.
    pub(crate) fn put(&self, session: &SessionRow, user: &UserRow, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.inner.lock().expect("cache lock");
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.by_token_hash.len() >= self.capacity {
            // Rare, and cheaper than tracking recency on every hit: start over.
            *entries = Entries::default();
        }
        entries.remove_session(&session.id);
        entries
            .token_hash_by_session
            .insert(session.id.clone(), session.token_hash.clone());
        entries
            .token_hashes_by_user
            .entry(user.id.clone())
            .or_default()
            .push(session.token_hash.clone());
        entries.by_token_hash.insert(
            session.token_hash.clone(),
            Entry {
                session: session.clone(),
                user: user.clone(),
                fetched_at: Instant::now(),
            },
        );
    }

    /// Drops what the committed `events` made stale.
    pub(crate) fn evict(&self, events: &[RecordedEvent]) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.inner.lock().expect("cache lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        for event in events {
            match event.aggregate_type.as_str() {
                "session" => entries.remove_session(&event.aggregate_id),
                // A failed sign-in changes nothing get-session shows.
                "user" if event.event_type != "user.sign_in_failed" => {
                    entries.remove_user(&event.aggregate_id);
                }
                _ => {}
            }
        }
    }
}

impl Entries {
    fn remove_session(&mut self, session_id: &str) {
        if let Some(token_hash) = self.token_hash_by_session.remove(session_id) {
            if let Some(entry) = self.by_token_hash.remove(&token_hash) {
                if let Some(hashes) = self.token_hashes_by_user.get_mut(&entry.user.id) {
                    hashes.retain(|h| *h != token_hash);
                    if hashes.is_empty() {
                        self.token_hashes_by_user.remove(&entry.user.id);
                    }
                }
            }
        }
    }

    fn remove_user(&mut self, user_id: &str) {
        for token_hash in self
            .token_hashes_by_user
            .remove(user_id)
            .unwrap_or_default()
        {
            if let Some(entry) = self.by_token_hash.remove(&token_hash) {
                self.token_hash_by_session.remove(&entry.session.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn rows(session_id: &str, user_id: &str) -> (SessionRow, UserRow) {
        let now = Utc::now();
        let session = SessionRow {
            id: session_id.into(),
            token_hash: format!("hash-{session_id}"),
            user_id: user_id.into(),
            expires_at: now,
            ip_address: String::new(),
            user_agent: String::new(),
            dont_remember: false,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let user = UserRow {
            id: user_id.into(),
            email: "a@example.com".into(),
            name: "A".into(),
            image: None,
            email_verified: false,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        (session, user)
    }

    fn event(aggregate_type: &str, aggregate_id: &str, event_type: &str) -> RecordedEvent {
        RecordedEvent {
            global_position: 1,
            tx_id: 0,
            event_id: uuid::Uuid::now_v7(),
            aggregate_type: aggregate_type.into(),
            aggregate_id: aggregate_id.into(),
            version: 2,
            event_type: event_type.into(),
            event_version: 1,
            payload: serde_json::json!({}),
            metadata: authlog_eventstore::Metadata::system(),
            occurred_at: Utc::now(),
        }
    }

    #[test]
    fn committed_events_evict_what_they_change() {
        let cache = SessionCache::new(Duration::from_secs(60), 100);
        let (s1, u1) = rows("s1", "u1");
        let (s2, _) = rows("s2", "u1");
        let (s3, u3) = rows("s3", "u3");
        cache.put(&s1, &u1, 0);
        cache.put(&s2, &u1, 0);
        cache.put(&s3, &u3, 0);
        cache.evict(&[event("user", "u1", "user.sign_in_failed")]);
        assert!(cache.get("hash-s1").is_some());
        cache.evict(&[event("session", "s1", "session.revoked")]);
        assert!(cache.get("hash-s1").is_none());
        assert!(cache.get("hash-s2").is_some());
        cache.evict(&[event("user", "u1", "user.profile_updated")]);
        assert!(cache.get("hash-s2").is_none());
        assert!(cache.get("hash-s3").is_some());
    }

    #[test]
    fn a_read_that_raced_an_eviction_is_not_cached() {
        let cache = SessionCache::new(Duration::from_secs(60), 100);
        let (s1, u1) = rows("s1", "u1");
        let before_read = cache.generation();
        cache.evict(&[event("session", "s1", "session.revoked")]);
        cache.put(&s1, &u1, before_read);
        assert!(cache.get("hash-s1").is_none());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_disables_the_cache() {
        let (s1, u1) = rows("s1", "u1");
        let cache = SessionCache::new(Duration::from_millis(1), 100);
        cache.put(&s1, &u1, 0);
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get("hash-s1").is_none());
        let off = SessionCache::new(Duration::ZERO, 100);
        off.put(&s1, &u1, 0);
        assert!(off.get("hash-s1").is_none());
    }
}
