//! Subjects: `auth.` followed by the event type, e.g. `auth.user.created`. No ids, emails or
//! other personal data ever go into a subject.

/// The subject of an event type (`user.created` → `auth.user.created`).
pub fn for_event_type(event_type: &str) -> String {
    format!("auth.{event_type}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn subjects_are_prefixed_event_types() {
        assert_eq!(
            super::for_event_type("session.revoked"),
            "auth.session.revoked"
        );
    }
}
