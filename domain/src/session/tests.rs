use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use proptest::prelude::*;

use super::*;
use crate::StoredEvent;

type SessionTest = TestFramework<Session>;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
}

const DAY: i64 = 86_400;

fn policy() -> RefreshPolicy {
    RefreshPolicy {
        expires_in: Duration::seconds(7 * DAY),
        update_age: Duration::seconds(DAY),
        disabled: false,
    }
}

fn created(expires_at: DateTime<Utc>, dont_remember: bool) -> SessionEvent {
    SessionEvent::Created {
        session_id: SessionId::new("s1".into()),
        user_id: UserId::new("u1".into()),
        token_hash: TokenHash::from_hex("ab".repeat(32)),
        expires_at,
        ip_address: String::new(),
        user_agent: "test".into(),
        dont_remember,
    }
}

#[test]
fn no_refresh_before_update_age_has_passed() {
    SessionTest::with(())
        .given(vec![created(at(7 * DAY), false)])
        .when(SessionCommand::Refresh {
            now: at(DAY - 1),
            policy: policy(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn refresh_once_update_age_has_passed() {
    SessionTest::with(())
        .given(vec![created(at(7 * DAY), false)])
        .when(SessionCommand::Refresh {
            now: at(DAY),
            policy: policy(),
        })
        .then_expect_events(vec![SessionEvent::Refreshed {
            expires_at: at(8 * DAY),
        }]);
}

#[test]
fn dont_remember_sessions_are_never_extended() {
    SessionTest::with(())
        .given(vec![created(at(DAY), true)])
        .when(SessionCommand::Refresh {
            now: at(DAY - 10),
            policy: policy(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn refresh_can_be_disabled() {
    let disabled = RefreshPolicy {
        disabled: true,
        ..policy()
    };
    SessionTest::with(())
        .given(vec![created(at(7 * DAY), false)])
        .when(SessionCommand::Refresh {
            now: at(3 * DAY),
            policy: disabled,
        })
        .then_expect_events(vec![]);
}

#[test]
fn an_expired_session_cannot_be_refreshed() {
    SessionTest::with(())
        .given(vec![created(at(7 * DAY), false)])
        .when(SessionCommand::Refresh {
            now: at(7 * DAY),
            policy: policy(),
        })
        .then_expect_error(SessionError::Expired);
}

#[test]
fn a_revoked_session_cannot_be_refreshed() {
    SessionTest::with(())
        .given(vec![
            created(at(7 * DAY), false),
            SessionEvent::Revoked {
                reason: RevokeReason::SignOut,
            },
        ])
        .when(SessionCommand::Refresh {
            now: at(2 * DAY),
            policy: policy(),
        })
        .then_expect_error(SessionError::Revoked);
}

#[test]
fn revoking_twice_emits_once() {
    SessionTest::with(())
        .given(vec![
            created(at(7 * DAY), false),
            SessionEvent::Revoked {
                reason: RevokeReason::SignOut,
            },
        ])
        .when(SessionCommand::Revoke {
            reason: RevokeReason::Revoked,
        })
        .then_expect_events(vec![]);
}

#[test]
fn revoking_an_unknown_session_is_refused() {
    SessionTest::with(())
        .given_no_previous_events()
        .when(SessionCommand::Revoke {
            reason: RevokeReason::Revoked,
        })
        .then_expect_error(SessionError::NotFound);
}

fn arb_command() -> impl Strategy<Value = SessionCommand> {
    prop_oneof![
        (0..10 * DAY, any::<bool>()).prop_map(|(offset, dont_remember)| SessionCommand::Create {
            session_id: SessionId::new("s1".into()),
            user_id: UserId::new("u1".into()),
            token_hash: TokenHash::from_hex("cd".repeat(32)),
            expires_at: at(offset),
            ip_address: String::new(),
            user_agent: String::new(),
            dont_remember,
        }),
        (0..20 * DAY).prop_map(|now| SessionCommand::Refresh {
            now: at(now),
            policy: policy()
        }),
        Just(SessionCommand::Revoke {
            reason: RevokeReason::SignOut
        }),
    ]
}

proptest! {
    /// Invariants over random command sequences: a revoked session never comes back, a
    /// refresh never shortens a session, and folding the events reproduces the state.
    #[test]
    fn sessions_keep_their_invariants(commands in proptest::collection::vec(arb_command(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut live = Session::default();
        let mut history = Vec::new();
        for command in commands {
            let before = live.clone();
            let sink = cqrs_es::event_sink::EventSink::default();
            let result = runtime.block_on(live.handle(command, &(), &sink));
            let events = runtime.block_on(sink.collect());
            match result {
                Ok(()) => history.extend(events),
                Err(_) => prop_assert_eq!(&live, &before),
            }
            if let (Some(old), Some(new)) = (before.state(), live.state()) {
                prop_assert!(!old.revoked || new.revoked);
                prop_assert!(new.expires_at >= old.expires_at);
            }
        }
        let mut folded = Session::default();
        for event in history {
            folded.apply(SessionEvent::from_stored(event.event_type(), event.to_payload()).unwrap());
        }
        prop_assert_eq!(folded, live);
    }
}
