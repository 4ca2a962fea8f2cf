//! Which event types a webhook receives: patterns such as `user.created`, `session.*` or `*`.

/// A list of patterns; an event type matches if any pattern does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    patterns: Vec<String>,
}

impl EventFilter {
    /// `patterns` like `user.created`, `user.*` (every event of users) or `*` (everything).
    /// An empty list matches everything.
    pub fn new(patterns: Vec<String>) -> Self {
        Self { patterns }
    }

    pub fn matches(&self, event_type: &str) -> bool {
        self.patterns.is_empty()
            || self
                .patterns
                .iter()
                .any(|pattern| match pattern.strip_suffix(".*") {
                    Some(aggregate) => event_type
                        .strip_prefix(aggregate)
                        .is_some_and(|rest| rest.starts_with('.')),
                    None => pattern == "*" || pattern == event_type,
                })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_types_aggregates_or_everything() {
        let filter = EventFilter::new(vec!["user.created".into(), "session.*".into()]);
        assert!(filter.matches("user.created"));
        assert!(filter.matches("session.revoked"));
        assert!(!filter.matches("user.deleted"));
        assert!(!filter.matches("sessions.revoked"));
        assert!(EventFilter::new(vec!["*".into()]).matches("account.linked"));
        assert!(EventFilter::new(Vec::new()).matches("account.linked"));
    }
}
