//! What a `session_data` cookie carries: `{session, user, updatedAt, version}`, where
//! `session` and `user` are the very JSON objects get-session answers with (contract 3.4),
//! and the checks Better Auth's schema applies when it reads one back.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::crypto::jose::Claims;
use crate::http::reply::{iso, SessionView, UserView};

/// The payload for a session and its user, keys in Better Auth's order.
pub(super) fn payload(
    session: &SessionView,
    user: &UserView,
    updated_at_ms: i64,
    version: &str,
) -> Claims {
    let mut payload = Map::new();
    payload.insert("session".into(), to_value(session));
    payload.insert("user".into(), to_value(user));
    payload.insert("updatedAt".into(), updated_at_ms.into());
    payload.insert("version".into(), version.into());
    payload
}

fn to_value(view: &impl serde::Serialize) -> Value {
    serde_json::to_value(view).expect("views serialize")
}

/// A payload read back from a cookie that passed Better Auth's schema
/// (`cookieCachePayloadSchema`: a loose session, a loose user, a numeric `updatedAt`, an
/// optional string `version`).
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSession {
    session: Map<String, Value>,
    user: Map<String, Value>,
    version: Option<String>,
    /// What every cache hit asks of the payload, taken out once when it is parsed: a hit
    /// would otherwise hash six keys and parse two dates per request.
    checked: Checked,
}

/// The fields a cache hit is checked against, as the payload holds them.
#[derive(Debug, Clone, PartialEq)]
struct Checked {
    session_id: String,
    user_id: String,
    token: String,
    session_expires_at: DateTime<Utc>,
    user_updated_at: DateTime<Utc>,
}

/// The fields of Better Auth's session schema, in its order; then the user's.
const SESSION_FIELDS: [&str; 8] = [
    "id",
    "createdAt",
    "updatedAt",
    "userId",
    "expiresAt",
    "token",
    "ipAddress",
    "userAgent",
];
const USER_FIELDS: [&str; 7] = [
    "id",
    "createdAt",
    "updatedAt",
    "email",
    "emailVerified",
    "name",
    "image",
];

impl CachedSession {
    /// Checks `payload` as Better Auth's schema does. Extra keys are kept (the schema is
    /// loose). Stricter than Better Auth in one respect: `createdAt` and `updatedAt` must be
    /// present rather than defaulted to "now", since every writer of these cookies sets them.
    pub(super) fn parse(payload: &Claims) -> Option<Self> {
        let session = payload.get("session")?.as_object()?;
        let user = payload.get("user")?.as_object()?;
        payload.get("updatedAt")?.as_f64()?;
        let version = match payload.get("version") {
            None => None,
            Some(Value::String(version)) => Some(version.clone()),
            Some(_) => return None,
        };
        let string = |object: &Map<String, Value>, key: &str| {
            object.get(key).and_then(Value::as_str).map(str::to_owned)
        };
        // The fields a hit is checked against, taken out (and so checked) first.
        let checked = Checked {
            session_id: string(session, "id")?,
            user_id: string(user, "id")?,
            token: string(session, "token")?,
            session_expires_at: date(session.get("expiresAt"))?,
            user_updated_at: date(user.get("updatedAt"))?,
        };
        let is_string =
            |object: &Map<String, Value>, key: &str| object.get(key).is_some_and(Value::is_string);
        let is_nullish_string = |object: &Map<String, Value>, key: &str| {
            matches!(object.get(key), None | Some(Value::Null | Value::String(_)))
        };
        let is_date = |object: &Map<String, Value>, key: &str| date(object.get(key)).is_some();
        let session_ok = is_string(session, "userId")
            && is_date(session, "createdAt")
            && is_date(session, "updatedAt")
            && is_nullish_string(session, "ipAddress")
            && is_nullish_string(session, "userAgent");
        let user_ok = is_string(user, "email")
            && is_string(user, "name")
            && matches!(user.get("emailVerified"), None | Some(Value::Bool(_)))
            && is_nullish_string(user, "image")
            && is_date(user, "createdAt");
        if !(session_ok && user_ok) {
            return None;
        }
        Some(Self {
            session: session.clone(),
            user: user.clone(),
            version,
            checked,
        })
    }

    pub fn session_id(&self) -> &str {
        &self.checked.session_id
    }

    pub fn user_id(&self) -> &str {
        &self.checked.user_id
    }

    /// The raw session token the cookie was issued for.
    pub fn token(&self) -> &str {
        &self.checked.token
    }

    /// The version the cookie was issued under (`"1"` when it carries none).
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or("1")
    }

    pub fn session_expires_at(&self) -> DateTime<Utc> {
        self.checked.session_expires_at
    }

    /// The user's `updatedAt` as the cookie has it: how fresh its copy of the user is.
    pub fn user_updated_at(&self) -> DateTime<Utc> {
        self.checked.user_updated_at
    }

    /// get-session's answer from the cookie: `{session, user}` as Better Auth sends it on a
    /// cache hit, its schema's fields first (in the schema's order, dates as JavaScript
    /// writes them, the email lower-cased), then any other field the cookie carried.
    pub fn answer(&self) -> Value {
        let mut session = ordered(&self.session, &SESSION_FIELDS);
        for key in ["expiresAt", "createdAt", "updatedAt"] {
            normalize_date(&mut session, key);
        }
        let mut user = ordered(&self.user, &USER_FIELDS);
        for key in ["createdAt", "updatedAt"] {
            normalize_date(&mut user, key);
        }
        if let Some(Value::String(email)) = user.get_mut("email") {
            *email = email.to_lowercase();
        }
        serde_json::json!({ "session": session, "user": user })
    }
}

/// `object` with `fields` first, in that order, then its other keys in their own order.
/// `emailVerified` is placed even when absent so that its default lands where the schema
/// puts it.
fn ordered(object: &Map<String, Value>, fields: &[&str]) -> Map<String, Value> {
    let mut result = Map::new();
    for field in fields {
        match object.get(*field) {
            Some(value) => {
                result.insert((*field).to_owned(), value.clone());
            }
            None if *field == "emailVerified" => {
                result.insert((*field).to_owned(), Value::Bool(false));
            }
            None => {}
        }
    }
    for (key, value) in object {
        if !fields.contains(&key.as_str()) {
            result.insert(key.clone(), value.clone());
        }
    }
    result
}

fn normalize_date(object: &mut Map<String, Value>, key: &str) {
    if let Some(at) = date(object.get(key)) {
        object.insert(key.to_owned(), Value::String(iso(&at)));
    }
}

/// An ISO-8601 UTC timestamp of the shape Better Auth revives into a `Date`
/// (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`).
fn date(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let text = value?.as_str()?;
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    let fraction = text.get(19..text.len().checked_sub(1)?)?;
    let shape_ok = bytes.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && text.ends_with('Z')
        && (fraction.is_empty()
            || (fraction.len() > 1
                && fraction.starts_with('.')
                && fraction[1..].bytes().all(|b| b.is_ascii_digit())));
    if !shape_ok {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cookie_payload() -> Claims {
        let Value::Object(payload) = json!({
            "session": {
                "expiresAt": "2026-12-07T00:57:15.720Z",
                "token": "9We5iHY6xSg2875jiDwroC5ghESc1Vkx",
                "createdAt": "2026-11-30T00:57:15.720Z",
                "updatedAt": "2026-11-30T00:57:15.720Z",
                "ipAddress": "",
                "userAgent": "curl/7.88.1",
                "userId": "bF8ejiJRgRcAmf6WsoPpjQ1FGJmxg87H",
                "id": "jaUmqNnQDYAQPg5gAxgqLO1cl0fUdwCc"
            },
            "user": {
                "name": "Ada",
                "email": "Ada@Example.com",
                "image": null,
                "createdAt": "2026-11-30T00:57:15Z",
                "updatedAt": "2026-11-30T00:57:15.718Z",
                "id": "bF8ejiJRgRcAmf6WsoPpjQ1FGJmxg87H",
                "role": "admin"
            },
            "updatedAt": 1796000235735_i64,
            "version": "1"
        }) else {
            unreachable!()
        };
        payload
    }

    /// The order Better Auth 1.7.25 answers a cache hit with (observed on the reference).
    #[test]
    fn a_cache_hit_answers_in_the_schema_order() {
        let cached = CachedSession::parse(&cookie_payload()).unwrap();
        assert_eq!(cached.session_id(), "jaUmqNnQDYAQPg5gAxgqLO1cl0fUdwCc");
        assert_eq!(cached.token(), "9We5iHY6xSg2875jiDwroC5ghESc1Vkx");
        assert_eq!(
            cached.answer().to_string(),
            r#"{"session":{"id":"jaUmqNnQDYAQPg5gAxgqLO1cl0fUdwCc","createdAt":"2026-11-30T00:57:15.720Z","updatedAt":"2026-11-30T00:57:15.720Z","userId":"bF8ejiJRgRcAmf6WsoPpjQ1FGJmxg87H","expiresAt":"2026-12-07T00:57:15.720Z","token":"9We5iHY6xSg2875jiDwroC5ghESc1Vkx","ipAddress":"","userAgent":"curl/7.88.1"},"user":{"id":"bF8ejiJRgRcAmf6WsoPpjQ1FGJmxg87H","createdAt":"2026-11-30T00:57:15.000Z","updatedAt":"2026-11-30T00:57:15.718Z","email":"ada@example.com","emailVerified":false,"name":"Ada","image":null,"role":"admin"}}"#
        );
    }

    #[test]
    fn payloads_that_fail_the_schema_are_refused() {
        let broken = |edit: fn(&mut Claims)| {
            let mut payload = cookie_payload();
            edit(&mut payload);
            CachedSession::parse(&payload)
        };
        assert!(broken(|_| {}).is_some());
        assert!(broken(|p| {
            p.remove("updatedAt");
        })
        .is_none());
        assert!(broken(|p| {
            p.insert("version".into(), json!(2));
        })
        .is_none());
        assert!(broken(|p| {
            p["session"]["expiresAt"] = json!("2026-12-07 00:57:15");
        })
        .is_none());
        assert!(broken(|p| {
            p["session"]["token"] = json!(5);
        })
        .is_none());
        assert!(broken(|p| {
            p["user"]["emailVerified"] = json!("no");
        })
        .is_none());
        let unversioned = broken(|p| {
            p.remove("version");
        });
        assert_eq!(unversioned.unwrap().version(), "1");
    }
}
