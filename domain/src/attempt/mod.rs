//! The `Attempt` aggregate: an operation that was refused, recorded for the audit trail.
//!
//! Failed sign-ins of an existing user are recorded on that user's stream
//! (`user.sign_in_failed`). Everything else that fails for a reason worth auditing (a wrong
//! current password, an invalid or expired token, an email already taken, a before hook's
//! veto, a sign-in with an unknown email) becomes one `attempt.failed` event on a stream of
//! its own: failures never contend with each other or with the user's own commands.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::values::UserId;
use crate::StoredEvent;

/// A refused operation. `action` is the operation's name (`change_password`,
/// `reset_password`, ...), `reason` why it failed (usually the error code, lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    pub action: String,
    pub reason: String,
    /// The user it concerned, when known.
    pub user_id: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AttemptEvent {
    #[serde(rename = "attempt.failed")]
    Failed {
        action: String,
        reason: String,
        user_id: Option<UserId>,
    },
}

impl StoredEvent for AttemptEvent {
    const AGGREGATE_TYPE: &'static str = "attempt";

    fn event_type(&self) -> &'static str {
        match self {
            Self::Failed { .. } => "attempt.failed",
        }
    }
}

crate::impl_domain_event!(AttemptEvent);

/// Why an attempt could not be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    #[error("this attempt is already recorded")]
    AlreadyRecorded,
}

/// One attempt's stream: it holds a single event.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    recorded: bool,
}

impl Aggregate for Attempt {
    const TYPE: &'static str = "attempt";
    type Command = RecordFailure;
    type Event = AttemptEvent;
    type Error = AttemptError;
    type Services = ();

    async fn handle(
        &mut self,
        command: RecordFailure,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), AttemptError> {
        if self.recorded {
            return Err(AttemptError::AlreadyRecorded);
        }
        let event = AttemptEvent::Failed {
            action: command.action,
            reason: command.reason,
            user_id: command.user_id,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, _event: AttemptEvent) {
        self.recorded = true;
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn failure() -> RecordFailure {
        RecordFailure {
            action: "change_password".into(),
            reason: "invalid_password".into(),
            user_id: Some(UserId::new("u1".into())),
        }
    }

    #[test]
    fn an_attempt_is_recorded_once() {
        TestFramework::<Attempt>::with(())
            .given_no_previous_events()
            .when(failure())
            .then_expect_events(vec![AttemptEvent::Failed {
                action: "change_password".into(),
                reason: "invalid_password".into(),
                user_id: Some(UserId::new("u1".into())),
            }]);
        TestFramework::<Attempt>::with(())
            .given(vec![AttemptEvent::Failed {
                action: "x".into(),
                reason: "y".into(),
                user_id: None,
            }])
            .when(failure())
            .then_expect_error(AttemptError::AlreadyRecorded);
    }
}
