//! Request bodies as better-call reads them, and the schema checks that produce Better
//! Auth's `VALIDATION_ERROR` messages (zod's wording, one `[body.field] ...` entry per issue,
//! joined with `; `, in schema order).

use serde_json::{Map, Value};

use super::request::{form_pairs, ApiRequest};
use crate::error::{AuthError, ErrorCode};

/// Which media types an endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    Json,
    /// `/sign-up/email` and `/sign-in/email` also take HTML form posts.
    JsonOrForm,
}

impl Accepts {
    fn listed(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::JsonOrForm => "application/x-www-form-urlencoded, application/json",
        }
    }
}

/// The body as a JSON value, or `None` when there is none. A body sent without any
/// Content-Type is ignored, as better-call does; an empty body is no body.
pub fn parse(request: &ApiRequest, accepts: Accepts) -> Result<Option<Value>, AuthError> {
    let Some(content_type) = request.header("content-type") else {
        return Ok(None);
    };
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_form = media_type == "application/x-www-form-urlencoded";
    if media_type != "application/json" && !(is_form && accepts == Accepts::JsonOrForm) {
        return Err(AuthError::with_message(
            ErrorCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type \"{content_type}\" is not allowed. Allowed types: {}",
                accepts.listed()
            ),
        ));
    }
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if is_form {
        // Later duplicates win, as with URLSearchParams turned into an object.
        let object: Map<String, Value> = form_pairs(&request.body)
            .into_iter()
            .map(|(key, value)| (key, Value::String(value)))
            .collect();
        return Ok(Some(Value::Object(object)));
    }
    serde_json::from_slice(&request.body)
        .map(Some)
        .map_err(|_| AuthError::code(ErrorCode::BAD_REQUEST))
}

/// What a field must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    /// A string of at least one character.
    NonEmptyString,
    /// A string zod's `email` accepts.
    Email,
    Boolean,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

pub const fn required(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

pub const fn optional(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

/// How the whole body is declared: zod's `object` (and, for sign-up, an object that also
/// takes additional fields, which zod reports as `record` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Object,
    ObjectAndRecord,
    Record,
}

#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub shape: Shape,
    pub fields: &'static [Field],
    /// Whether a missing body is accepted (as an empty object).
    pub optional: bool,
}

/// Checks `body` against `schema` and returns its object.
pub fn validate(schema: &Schema, body: Option<Value>) -> Result<Map<String, Value>, AuthError> {
    let object = match body {
        Some(Value::Object(object)) => object,
        None if schema.optional => return Ok(Map::new()),
        other => {
            let received = received(other.as_ref());
            let issue = |expected: &str| {
                format!("[body] Invalid input: expected {expected}, received {received}")
            };
            let message = match schema.shape {
                Shape::Object => issue("object"),
                Shape::Record => issue("record"),
                Shape::ObjectAndRecord => format!("{}; {}", issue("object"), issue("record")),
            };
            return Err(AuthError::with_message(
                ErrorCode::VALIDATION_ERROR,
                message,
            ));
        }
    };
    let issues: Vec<String> = schema
        .fields
        .iter()
        .filter_map(|field| {
            check(field, object.get(field.name)).map(|text| format!("[body.{}] {text}", field.name))
        })
        .collect();
    if issues.is_empty() {
        Ok(object)
    } else {
        Err(AuthError::with_message(
            ErrorCode::VALIDATION_ERROR,
            issues.join("; "),
        ))
    }
}

fn check(field: &Field, value: Option<&Value>) -> Option<String> {
    let expected = match field.kind {
        Kind::Boolean => "boolean",
        _ => "string",
    };
    let mismatch = || {
        Some(format!(
            "Invalid input: expected {expected}, received {}",
            received(value)
        ))
    };
    match (value, field.kind) {
        (None, _) if !field.required => None,
        (Some(Value::Bool(_)), Kind::Boolean) => None,
        (Some(Value::String(_)), Kind::String) => None,
        (Some(Value::String(text)), Kind::NonEmptyString) if text.is_empty() => {
            Some("Too small: expected string to have >=1 characters".to_owned())
        }
        (Some(Value::String(_)), Kind::NonEmptyString) => None,
        (Some(Value::String(text)), Kind::Email) => authlog_domain::values::Email::parse(text)
            .is_err()
            .then(|| "Invalid email address".to_owned()),
        _ => mismatch(),
    }
}

/// zod's name for what it got.
fn received(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// The string at `name`, if the schema let one through.
pub fn string(object: &Map<String, Value>, name: &str) -> Option<String> {
    object.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The boolean at `name`, or `default`.
pub fn boolean(object: &Map<String, Value>, name: &str, default: bool) -> bool {
    object.get(name).and_then(Value::as_bool).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCHEMA: Schema = Schema {
        shape: Shape::ObjectAndRecord,
        fields: &[
            required("name", Kind::String),
            required("email", Kind::Email),
            required("password", Kind::NonEmptyString),
            optional("rememberMe", Kind::Boolean),
        ],
        optional: false,
    };

    fn message(result: Result<Map<String, Value>, AuthError>) -> String {
        match result.unwrap_err() {
            AuthError::Api {
                code: ErrorCode::VALIDATION_ERROR,
                message,
                ..
            } => message.into_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn issues_follow_zod_wording_and_schema_order() {
        assert_eq!(
            message(validate(&SCHEMA, Some(json!({})))),
            "[body.name] Invalid input: expected string, received undefined; \
             [body.email] Invalid input: expected string, received undefined; \
             [body.password] Invalid input: expected string, received undefined"
        );
        assert_eq!(
            message(validate(
                &SCHEMA,
                Some(json!({"name": 5, "email": "abc", "password": "", "rememberMe": "false"}))
            )),
            "[body.name] Invalid input: expected string, received number; \
             [body.email] Invalid email address; \
             [body.password] Too small: expected string to have >=1 characters; \
             [body.rememberMe] Invalid input: expected boolean, received string"
        );
        assert_eq!(
            message(validate(&SCHEMA, None)),
            "[body] Invalid input: expected object, received undefined; \
             [body] Invalid input: expected record, received undefined"
        );
    }

    #[test]
    fn valid_bodies_pass_and_unknown_fields_are_kept_out_of_the_way() {
        let object = validate(
            &SCHEMA,
            Some(json!({"name": "A", "email": "a@example.com", "password": "x", "foo": 1})),
        )
        .unwrap();
        assert_eq!(string(&object, "name").as_deref(), Some("A"));
        assert!(boolean(&object, "rememberMe", true));
    }
}
