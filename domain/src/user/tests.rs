use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use proptest::prelude::*;

use super::*;
use crate::StoredEvent;

type UserTest = TestFramework<User>;

fn created() -> UserEvent {
    UserEvent::Created {
        user_id: UserId::new("u1".into()),
        email: Email::parse("ada@example.com").unwrap(),
        name: Name::parse("Ada"),
        image: None,
        email_verified: false,
    }
}

#[test]
fn sign_up_creates_an_unverified_user() {
    UserTest::with(())
        .given_no_previous_events()
        .when(UserCommand::SignUp {
            user_id: UserId::new("u1".into()),
            email: Email::parse("ada@example.com").unwrap(),
            name: Name::parse("Ada"),
            image: None,
        })
        .then_expect_events(vec![created()]);
}

#[test]
fn signing_up_an_existing_stream_is_refused() {
    UserTest::with(())
        .given(vec![created()])
        .when(UserCommand::SignUp {
            user_id: UserId::new("u1".into()),
            email: Email::parse("ada@example.com").unwrap(),
            name: Name::parse("Ada"),
            image: None,
        })
        .then_expect_error(UserError::AlreadyExists);
}

#[test]
fn profile_update_records_only_what_changed() {
    UserTest::with(())
        .given(vec![created()])
        .when(UserCommand::UpdateProfile {
            name: None,
            image: Some(None),
        })
        .then_expect_events(vec![UserEvent::ProfileUpdated {
            name: None,
            image: Some(None),
        }]);
}

#[test]
fn an_empty_profile_update_is_refused() {
    UserTest::with(())
        .given(vec![created()])
        .when(UserCommand::UpdateProfile {
            name: None,
            image: None,
        })
        .then_expect_error(UserError::NoFieldsToUpdate);
}

#[test]
fn deleting_releases_the_email() {
    let events = UserTest::with(())
        .given(vec![created()])
        .when(UserCommand::Delete)
        .inspect_result()
        .unwrap();
    assert_eq!(
        events[0].unique_claims(&UserId::new("u1".into())),
        vec![crate::uniqueness::UniqueClaim::Release {
            kind: crate::uniqueness::UniqueKind::UserEmail,
            value: "ada@example.com".into(),
        }]
    );
}

#[test]
fn a_deleted_user_accepts_no_more_commands() {
    UserTest::with(())
        .given(vec![
            created(),
            UserEvent::Deleted {
                email: Email::parse("ada@example.com").unwrap(),
            },
        ])
        .when(UserCommand::UpdateProfile {
            name: Some(Name::parse("Bob")),
            image: None,
        })
        .then_expect_error(UserError::NotFound);
}

#[test]
fn failed_sign_ins_need_an_existing_user() {
    UserTest::with(())
        .given_no_previous_events()
        .when(UserCommand::RecordFailedSignIn {
            reason: SignInFailure::InvalidPassword,
        })
        .then_expect_error(UserError::NotFound);
}

#[test]
fn stored_payloads_round_trip_without_the_type_tag() {
    let event = UserEvent::ProfileUpdated {
        name: Some(Name::parse("Ada")),
        image: Some(None),
    };
    let payload = event.to_payload();
    assert_eq!(payload, serde_json::json!({"name": "Ada", "image": null}));
    assert_eq!(
        UserEvent::from_stored(event.event_type(), payload).unwrap(),
        event
    );
    let untouched = UserEvent::ProfileUpdated {
        name: None,
        image: None,
    };
    assert_eq!(untouched.to_payload(), serde_json::json!({}));
    assert_eq!(
        UserEvent::from_stored("user.profile_updated", serde_json::json!({})).unwrap(),
        untouched
    );
}

fn arb_command() -> impl Strategy<Value = UserCommand> {
    let name = proptest::option::of("[a-z]{0,5}".prop_map(|n| Name::parse(&n)));
    let image = proptest::option::of(proptest::option::of("[a-z]{1,5}"));
    prop_oneof![
        "[a-z]{1,6}".prop_map(|local| UserCommand::SignUp {
            user_id: UserId::new("u1".into()),
            email: Email::parse(&format!("{local}@example.com")).unwrap(),
            name: Name::parse(&local),
            image: None,
        }),
        (name, image).prop_map(|(name, image)| UserCommand::UpdateProfile { name, image }),
        Just(UserCommand::Delete),
        Just(UserCommand::RecordFailedSignIn {
            reason: SignInFailure::InvalidPassword
        }),
    ]
}

fn run(user: &mut User, command: UserCommand) -> Result<Vec<UserEvent>, UserError> {
    let sink = cqrs_es::event_sink::EventSink::default();
    futures_lite_block_on(async {
        user.handle(command, &(), &sink).await?;
        Ok(sink.collect().await)
    })
}

/// The aggregate's futures never wait on IO, so a single poll loop on a small runtime is enough.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

proptest! {
    /// Random command sequences keep the invariants, and folding the emitted events from
    /// scratch reproduces the live state.
    #[test]
    fn folding_events_reproduces_state(commands in proptest::collection::vec(arb_command(), 1..20)) {
        let mut live = User::default();
        let mut history = Vec::new();
        for command in commands {
            let before = live.clone();
            match run(&mut live, command) {
                Ok(events) => history.extend(events),
                // A refused command changes nothing.
                Err(_) => prop_assert_eq!(&live, &before),
            }
            if let Some(state) = live.state() {
                // Once deleted, a user stays deleted.
                if before.state().is_some_and(|s| s.deleted) {
                    prop_assert!(state.deleted);
                }
            }
        }
        let mut folded = User::default();
        for event in &history {
            let stored = UserEvent::from_stored(event.event_type(), event.to_payload()).unwrap();
            folded.apply(stored);
        }
        prop_assert_eq!(folded, live);
        // At most one creation per stream.
        let creations = history.iter().filter(|e| matches!(e, UserEvent::Created { .. })).count();
        prop_assert!(creations <= 1);
    }
}

#[test]
fn an_email_change_moves_the_unique_claim() {
    let events = UserTest::with(())
        .given(vec![created()])
        .when(UserCommand::ChangeEmail {
            new_email: Email::parse("new@example.com").unwrap(),
            verified: false,
        })
        .inspect_result()
        .unwrap();
    let user_id = UserId::new("u1".into());
    let claims = events[0].unique_claims(&user_id);
    assert_eq!(claims.len(), 2);
    assert!(
        matches!(&claims[0], crate::uniqueness::UniqueClaim::Release { value, .. } if value == "ada@example.com")
    );
    assert!(
        matches!(&claims[1], crate::uniqueness::UniqueClaim::Claim { value, .. } if value == "new@example.com")
    );
}

#[test]
fn only_the_current_address_can_be_verified() {
    UserTest::with(())
        .given(vec![created()])
        .when(UserCommand::VerifyEmail {
            email: Email::parse("old@example.com").unwrap(),
        })
        .then_expect_error(UserError::EmailMismatch);
    UserTest::with(())
        .given(vec![created()])
        .when(UserCommand::VerifyEmail {
            email: Email::parse("ada@example.com").unwrap(),
        })
        .then_expect_events(vec![UserEvent::EmailVerified {
            email: Email::parse("ada@example.com").unwrap(),
        }]);
}
