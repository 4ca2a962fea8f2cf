use chrono::{Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;

use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
}

fn issued() -> VerificationEvent {
    VerificationEvent::Issued {
        verification_id: "v1".into(),
        purpose: Purpose::ResetPassword,
        user_id: UserId::new("u1".into()),
        email: Email::parse("ada@example.com").unwrap(),
        new_email: None,
        token_hash: TokenHash::from_hex("ab".repeat(32)),
        expires_at: at(3600),
        callback_url: Some("/reset".into()),
    }
}

#[test]
fn a_token_is_used_once() {
    TestFramework::<Verification>::with(())
        .given(vec![issued()])
        .when(VerificationCommand::Consume { now: at(10) })
        .then_expect_events(vec![VerificationEvent::Consumed]);
    TestFramework::<Verification>::with(())
        .given(vec![issued(), VerificationEvent::Consumed])
        .when(VerificationCommand::Consume { now: at(20) })
        .then_expect_error(VerificationError::AlreadyConsumed);
}

#[test]
fn an_expired_token_cannot_be_used() {
    TestFramework::<Verification>::with(())
        .given(vec![issued()])
        .when(VerificationCommand::Consume {
            now: at(0) + Duration::hours(1),
        })
        .then_expect_error(VerificationError::Expired);
}

#[test]
fn an_unknown_token_cannot_be_used() {
    TestFramework::<Verification>::with(())
        .given_no_previous_events()
        .when(VerificationCommand::Consume { now: at(0) })
        .then_expect_error(VerificationError::NotFound);
}

#[test]
fn purposes_round_trip_as_text() {
    for purpose in [
        Purpose::VerifyEmail,
        Purpose::ResetPassword,
        Purpose::ChangeEmailConfirmation,
        Purpose::ChangeEmailVerification,
    ] {
        assert_eq!(Purpose::parse(purpose.as_str()), Some(purpose));
    }
}
