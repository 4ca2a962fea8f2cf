//! What of an event's payload leaves the building.
//!
//! Every event type that exists has a rule: the payload fields that are published. Anything
//! else (a password hash, a token hash, any field a later version adds) stays in the log.
//! An allow-list, not a deny-list, so a new secret field is withheld until someone decides
//! otherwise.
//!
//! An event type without a rule (one added since this table was last updated) is published
//! with every field whose name looks like a secret withheld, at any depth, and a warning is
//! logged; the test `every_fixture_has_a_rule` fails until the new type gets a rule here and
//! a section in `docs/events.md`.

use serde_json::{Map, Value};

/// The published fields of each event type. Keep in step with `docs/events.md`.
const PUBLISHED_FIELDS: &[(&str, &[&str])] = &[
    (
        "user.created",
        &["user_id", "email", "name", "image", "email_verified"],
    ),
    ("user.profile_updated", &["name", "image"]),
    ("user.deleted", &["email"]),
    ("user.sign_in_failed", &["reason"]),
    ("user.email_verified", &["email"]),
    (
        "user.email_changed",
        &["old_email", "new_email", "email_verified"],
    ),
    // Withheld: token_hash.
    (
        "session.created",
        &[
            "session_id",
            "user_id",
            "expires_at",
            "ip_address",
            "user_agent",
            "dont_remember",
        ],
    ),
    ("session.refreshed", &["expires_at"]),
    ("session.revoked", &["reason"]),
    // Withheld: password_hash.
    (
        "account.linked",
        &[
            "account_id",
            "user_id",
            "provider_id",
            "provider_account_id",
        ],
    ),
    // Withheld: password_hash (the event says only that the password changed).
    ("account.password_changed", &[]),
    // Withheld: password_hash.
    ("account.password_reset", &[]),
    ("account.unlinked", &[]),
    // Withheld: token_hash (the link's token itself is in no event).
    (
        "verification.issued",
        &[
            "verification_id",
            "purpose",
            "user_id",
            "email",
            "new_email",
            "expires_at",
            "callback_url",
        ],
    ),
    ("verification.consumed", &[]),
    ("attempt.failed", &["action", "reason", "user_id"]),
];

/// Parts of field names that mark a secret in an event type without a rule.
const SECRET_NAME_PARTS: &[&str] = &[
    "password", "token", "secret", "hash", "otp", "code", "key", "cipher",
];

/// The publishable part of `payload` for an event of `event_type`.
pub fn published_data(event_type: &str, payload: &Value) -> Value {
    match rule(event_type) {
        Some(fields) => {
            let mut published = Map::new();
            if let Value::Object(object) = payload {
                for field in fields {
                    if let Some(value) = object.get(*field) {
                        published.insert((*field).to_owned(), value.clone());
                    }
                }
            }
            Value::Object(published)
        }
        None => {
            tracing::warn!(
                event_type,
                "no redaction rule for this event type: publishing it without any field that \
                 looks like a secret; add a rule in bus/src/redaction.rs"
            );
            without_secret_looking_fields(payload)
        }
    }
}

/// Whether `event_type` has its own rule.
pub fn has_rule(event_type: &str) -> bool {
    rule(event_type).is_some()
}

fn rule(event_type: &str) -> Option<&'static [&'static str]> {
    PUBLISHED_FIELDS
        .iter()
        .find(|(known, _)| *known == event_type)
        .map(|(_, fields)| *fields)
}

fn without_secret_looking_fields(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(name, _)| !looks_secret(name))
                .map(|(name, value)| (name.clone(), without_secret_looking_fields(value)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(without_secret_looking_fields).collect())
        }
        other => other.clone(),
    }
}

fn looks_secret(field: &str) -> bool {
    let field = field.to_ascii_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| field.contains(part))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    fn fixtures() -> Vec<(String, Value)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events");
        let mut fixtures: Vec<(String, Value)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                let file = path.file_name().unwrap().to_str().unwrap().to_owned();
                // `<type>.v<version>.json`
                let event_type = file.rsplitn(3, '.').nth(2).unwrap().to_owned();
                let text = std::fs::read_to_string(&path).unwrap();
                (event_type, serde_json::from_str(&text).unwrap())
            })
            .collect();
        fixtures.sort_by(|a, b| a.0.cmp(&b.0));
        fixtures
    }

    #[test]
    fn every_fixture_has_a_rule() {
        let fixtures = fixtures();
        assert!(fixtures.len() >= 16, "fixtures not found");
        let missing: Vec<&str> = fixtures
            .iter()
            .map(|(event_type, _)| event_type.as_str())
            .filter(|event_type| !has_rule(event_type))
            .collect();
        assert!(
            missing.is_empty(),
            "event types without a redaction rule (add them to PUBLISHED_FIELDS and to \
             docs/events.md): {missing:?}"
        );
    }

    #[test]
    fn no_fixture_publishes_a_hash_or_token() {
        for (event_type, payload) in fixtures() {
            let published = published_data(&event_type, &payload).to_string();
            for secret in [
                "$argon2",
                "password_hash",
                "token_hash",
                "9f86d081884c7d65",
                "2c26b46b68ffc68f",
            ] {
                assert!(
                    !published.contains(secret),
                    "{event_type} publishes {secret}: {published}"
                );
            }
        }
    }

    #[test]
    fn published_fields_are_kept_as_they_are() {
        let payload = json!({"user_id": "u1", "email": "ada@example.com", "name": "Ada",
            "image": null, "email_verified": false});
        assert_eq!(published_data("user.created", &payload), payload);
        let linked = json!({"account_id": "a1", "user_id": "u1", "provider_id": "credential",
            "provider_account_id": "u1", "password_hash": "$argon2id$..."});
        assert_eq!(
            published_data("account.linked", &linked),
            json!({"account_id": "a1", "user_id": "u1", "provider_id": "credential",
                "provider_account_id": "u1"})
        );
    }

    #[test]
    fn an_unknown_type_loses_every_secret_looking_field_at_any_depth() {
        let payload = json!({"user_id": "u1", "token_hash": "abc", "Password": "x",
            "nested": {"verification_code": "123456", "expires_at": "2026-01-01T00:00:00Z"},
            "list": [{"api_key": "k", "label": "ci"}]});
        assert_eq!(
            published_data("apikey.created", &payload),
            json!({"user_id": "u1", "nested": {"expires_at": "2026-01-01T00:00:00Z"},
                "list": [{"label": "ci"}]})
        );
    }
}
