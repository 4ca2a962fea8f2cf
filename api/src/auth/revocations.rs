//! The revocation set: sessions and users that ended recently, which the cookie-cache path
//! checks before it trusts a `session_data` cookie.
//!
//! A `session_data` cookie is a signed copy of the session that get-session answers from
//! without reading anything, so on its own it keeps a revoked session alive until the cookie
//! expires (Better Auth's behaviour: up to `cookieCache.maxAge`). Every instance therefore
//! remembers what was revoked for as long as a cookie issued before the revocation can still
//! be presented, and refuses such cookies: the request falls through to the in-process cache
//! and the database, which know the session is gone.
//!
//! The set is filled from committed events: this process's own (`Auth::append`) at once, and
//! other instances' as the fan-out delivers them (`Auth::note_remote_events`).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use authlog_eventstore::RecordedEvent;
use chrono::{DateTime, Utc};

/// User events that change what a cookie's copy of the user says.
const USER_CHANGES: [&str; 3] = [
    "user.profile_updated",
    "user.email_verified",
    "user.email_changed",
];

/// Clocks of different instances disagree a little, and a cookie issued by an instance that
/// had not yet heard of a revocation is dated from that later moment: keep entries this much
/// longer than the longest cookie lifetime.
const SAFETY_MARGIN: Duration = Duration::from_secs(30);

/// Revoked session ids and deleted user ids, each kept until no cookie issued before the
/// revocation can still be valid.
#[derive(Debug)]
pub(crate) struct RevocationSet {
    /// Off when the cookie cache is off: nothing would consult it.
    enabled: bool,
    retention: Duration,
    capacity: usize,
    inner: RwLock<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Session id, or user id, to the moment its entry may be forgotten.
    sessions: HashMap<String, Instant>,
    users: HashMap<String, Instant>,
    /// User id to the time of its latest change (profile, email, verification) and the
    /// moment the entry may be forgotten: a cookie whose copy of the user is older is stale.
    changed_users: HashMap<String, (DateTime<Utc>, Instant)>,
    /// Set when more was revoked than the set holds: until then every cookie is distrusted,
    /// so the bound on memory never lets a revoked session through.
    distrust_all_until: Option<Instant>,
}

impl RevocationSet {
    /// `longest_cookie_lifetime`: how long a cookie issued just before a revocation can
    /// still be presented. `capacity` bounds the entries (sessions and users together).
    pub(crate) fn new(enabled: bool, longest_cookie_lifetime: Duration, capacity: usize) -> Self {
        Self {
            enabled,
            retention: longest_cookie_lifetime + SAFETY_MARGIN,
            capacity: capacity.max(1),
            inner: RwLock::default(),
        }
    }

    /// Records the revocations among `events`: `session.revoked` ends one session,
    /// `user.deleted` every session of a user.
    pub(crate) fn note(&self, events: &[RecordedEvent]) {
        if !self.enabled {
            return;
        }
        let revoked: Vec<&RecordedEvent> = events
            .iter()
            .filter(|e| matches!(e.event_type.as_str(), "session.revoked" | "user.deleted"))
            .collect();
        let changed: Vec<&RecordedEvent> = events
            .iter()
            .filter(|e| USER_CHANGES.contains(&e.event_type.as_str()))
            .collect();
        if revoked.is_empty() && changed.is_empty() {
            return;
        }
        let now = Instant::now();
        let until = now + self.retention;
        let mut entries = self.inner.write().expect("revocation set lock");
        for event in changed {
            let at = entries
                .changed_users
                .get(&event.aggregate_id)
                .map_or(event.occurred_at, |(at, _)| (*at).max(event.occurred_at));
            entries
                .changed_users
                .insert(event.aggregate_id.clone(), (at, until));
            if entries.len() > self.capacity {
                entries.forget_expired(now);
            }
            if entries.len() > self.capacity {
                tracing::warn!(
                    capacity = self.capacity,
                    "revocation set full: the cookie cache is bypassed until entries age out"
                );
                entries.distrust_all_until = Some(until);
                entries.changed_users.clear();
            }
        }
        for event in revoked {
            if entries.len() >= self.capacity {
                entries.forget_expired(now);
            }
            if entries.len() >= self.capacity {
                tracing::warn!(
                    capacity = self.capacity,
                    "revocation set full: the cookie cache is bypassed until entries age out"
                );
                entries.distrust_all_until = Some(until);
                entries.forget_expired(until);
            }
            let map = if event.event_type == "user.deleted" {
                &mut entries.users
            } else {
                &mut entries.sessions
            };
            map.insert(event.aggregate_id.clone(), until);
        }
    }

    /// Whether a cookie naming this session and user must be refused. Always false when the
    /// set is disabled.
    pub(crate) fn is_revoked(&self, session_id: &str, user_id: &str) -> bool {
        if !self.enabled {
            return false;
        }
        let entries = self.inner.read().expect("revocation set lock");
        let found = [
            entries.distrust_all_until,
            entries.sessions.get(session_id).copied(),
            entries.users.get(user_id).copied(),
        ];
        // The clock is read only when an entry is there: on the cookie-cache hit path,
        // which asks this of every request, the set is usually empty.
        if found.iter().all(Option::is_none) {
            return false;
        }
        let now = Instant::now();
        found.iter().flatten().any(|until| *until > now)
    }
}

impl RevocationSet {
    /// Whether a cookie's copy of the user, last updated at `user_updated_at`, predates a
    /// change to the user this set heard of. A change is only ever compared with the
    /// `updatedAt` the change itself wrote, so clocks of different instances do not matter.
    pub(crate) fn is_outdated(&self, user_id: &str, user_updated_at: DateTime<Utc>) -> bool {
        if !self.enabled {
            return false;
        }
        let entries = self.inner.read().expect("revocation set lock");
        entries
            .changed_users
            .get(user_id)
            .is_some_and(|(changed_at, until)| {
                user_updated_at < *changed_at && *until > Instant::now()
            })
    }
}

impl Entries {
    fn len(&self) -> usize {
        self.sessions.len() + self.users.len() + self.changed_users.len()
    }

    /// Drops the entries whose time is up at `moment`.
    fn forget_expired(&mut self, moment: Instant) {
        self.sessions.retain(|_, until| *until > moment);
        self.users.retain(|_, until| *until > moment);
        self.changed_users.retain(|_, (_, until)| *until > moment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            occurred_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn revoked_sessions_and_deleted_users_are_refused() {
        let set = RevocationSet::new(true, Duration::from_secs(300), 100);
        set.note(&[
            event("session", "s1", "session.created"),
            event("session", "s2", "session.refreshed"),
            event("user", "u1", "user.profile_updated"),
        ]);
        assert!(!set.is_revoked("s1", "u1"), "nothing above ends a session");
        set.note(&[event("session", "s1", "session.revoked")]);
        assert!(set.is_revoked("s1", "u1"));
        assert!(!set.is_revoked("s2", "u1"));
        set.note(&[event("user", "u1", "user.deleted")]);
        assert!(
            set.is_revoked("s2", "u1"),
            "every session of a deleted user"
        );
        assert!(!set.is_revoked("s3", "u2"));
    }

    #[test]
    fn entries_are_forgotten_after_the_retention() {
        // A zero lifetime leaves only the safety margin; shorten it to observe expiry.
        let set = RevocationSet {
            retention: Duration::from_millis(5),
            ..RevocationSet::new(true, Duration::ZERO, 100)
        };
        set.note(&[event("session", "s1", "session.revoked")]);
        assert!(set.is_revoked("s1", "u1"));
        std::thread::sleep(Duration::from_millis(10));
        assert!(!set.is_revoked("s1", "u1"));
    }

    #[test]
    fn a_full_set_distrusts_every_cookie_rather_than_forget_a_revocation() {
        let set = RevocationSet::new(true, Duration::from_secs(300), 2);
        set.note(&[
            event("session", "s1", "session.revoked"),
            event("session", "s2", "session.revoked"),
        ]);
        assert!(!set.is_revoked("s9", "u9"));
        set.note(&[event("session", "s3", "session.revoked")]);
        assert!(set.is_revoked("s3", "u1"));
        assert!(
            set.is_revoked("s9", "u9"),
            "an unrelated session is distrusted too"
        );
    }

    #[test]
    fn a_disabled_set_records_nothing() {
        let set = RevocationSet::new(false, Duration::from_secs(300), 100);
        set.note(&[event("session", "s1", "session.revoked")]);
        assert!(!set.is_revoked("s1", "u1"));
    }

    #[test]
    fn cookies_older_than_a_user_change_are_outdated() {
        let set = RevocationSet::new(true, Duration::from_secs(300), 100);
        let change = event("user", "u1", "user.email_verified");
        let changed_at = change.occurred_at;
        set.note(&[change]);
        assert!(set.is_outdated("u1", changed_at - chrono::Duration::milliseconds(1)));
        assert!(
            !set.is_outdated("u1", changed_at),
            "a cookie issued with the change is current"
        );
        assert!(!set.is_outdated("u2", changed_at - chrono::Duration::seconds(1)));
        let off = RevocationSet::new(false, Duration::from_secs(300), 100);
        off.note(&[event("user", "u1", "user.profile_updated")]);
        assert!(!off.is_outdated("u1", changed_at - chrono::Duration::seconds(1)));
    }
}
