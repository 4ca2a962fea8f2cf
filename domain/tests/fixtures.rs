//! Every stored event shape has a fixture under `tests/fixtures/events/<type>.v<N>.json`,
//! and every fixture still decodes into today's domain events. A shape change that breaks a
//! fixture needs a new version and an upcaster, not an edit of the fixture.

use std::collections::BTreeSet;
use std::path::Path;

use authlog_domain::account::AccountEvent;
use authlog_domain::session::SessionEvent;
use authlog_domain::user::UserEvent;
use authlog_domain::verification::VerificationEvent;
use authlog_domain::StoredEvent;

/// Every event type the domain writes today, with its current version.
const CURRENT: &[(&str, i32)] = &[
    ("user.created", 1),
    ("user.profile_updated", 1),
    ("user.deleted", 1),
    ("user.sign_in_failed", 1),
    ("user.email_verified", 1),
    ("user.email_changed", 1),
    ("session.created", 1),
    ("session.refreshed", 1),
    ("session.revoked", 1),
    ("account.linked", 1),
    ("account.password_changed", 1),
    ("account.password_reset", 1),
    ("account.unlinked", 1),
    ("verification.issued", 1),
    ("verification.consumed", 1),
    ("attempt.failed", 1),
];

fn decode(event_type: &str, payload: serde_json::Value) -> Result<(String, i32), String> {
    let (round_trip, version) = match event_type.split('.').next() {
        Some("user") => {
            let event =
                UserEvent::from_stored(event_type, payload.clone()).map_err(|e| e.to_string())?;
            (event.to_payload(), event.event_version())
        }
        Some("session") => {
            let event = SessionEvent::from_stored(event_type, payload.clone())
                .map_err(|e| e.to_string())?;
            (event.to_payload(), event.event_version())
        }
        Some("account") => {
            let event = AccountEvent::from_stored(event_type, payload.clone())
                .map_err(|e| e.to_string())?;
            (event.to_payload(), event.event_version())
        }
        Some("verification") => {
            let event = VerificationEvent::from_stored(event_type, payload.clone())
                .map_err(|e| e.to_string())?;
            (event.to_payload(), event.event_version())
        }
        Some("attempt") => {
            let event =
                authlog_domain::attempt::AttemptEvent::from_stored(event_type, payload.clone())
                    .map_err(|e| e.to_string())?;
            (event.to_payload(), event.event_version())
        }
        _ => return Err(format!("unknown aggregate in {event_type}")),
    };
    Ok((round_trip.to_string(), version))
}

#[test]
fn every_fixture_decodes_and_every_event_type_has_one() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events");
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let stem = name.strip_suffix(".json").unwrap();
        let (event_type, version) = stem.rsplit_once(".v").unwrap();
        let version: i32 = version.parse().unwrap();
        let payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (_, current) = decode(event_type, payload).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            current, version,
            "{name}: an older version needs an upcaster test instead"
        );
        covered.insert((event_type.to_owned(), version));
    }
    for (event_type, version) in CURRENT {
        assert!(
            covered.contains(&((*event_type).to_owned(), *version)),
            "no fixture for {event_type} v{version}"
        );
    }
}
