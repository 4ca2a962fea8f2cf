//! Subjects: a prefix (`auth` by default) followed by the event type, e.g.
//! `auth.user.created`. No ids, emails or other personal data ever go into a subject.

/// The prefix when none is configured.
pub const DEFAULT_PREFIX: &str = "auth";

/// The subject of an event type under the default prefix (`user.created` →
/// `auth.user.created`).
pub fn for_event_type(event_type: &str) -> String {
    under(DEFAULT_PREFIX, event_type)
}

/// The subject of an event type under `prefix`.
pub fn under(prefix: &str, event_type: &str) -> String {
    format!("{prefix}.{event_type}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn subjects_are_prefixed_event_types() {
        assert_eq!(
            super::for_event_type("session.revoked"),
            "auth.session.revoked"
        );
        assert_eq!(
            super::under("tenant-a.auth", "user.created"),
            "tenant-a.auth.user.created"
        );
    }
}
