//! Responses: successes with their cookies, failures in Better Auth's error format, and the
//! JSON views of users, sessions and accounts (keys in the order Better Auth sends them).

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

use authlog_projections::read::{AccountRow, SessionRow, UserRow};

use crate::error::AuthError;

/// A successful answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: ReplyBody,
    pub cookies: Vec<String>,
    pub location: Option<String>,
    pub no_store: bool,
    /// Send no body at all (redirects).
    pub empty: bool,
}

#[derive(Debug)]
pub enum ReplyBody {
    Json(Value),
    /// JSON already serialized (get-session's answer from a cookie cache hit).
    JsonText(axum::body::Bytes),
    Html(String),
}

impl Reply {
    pub fn json(body: impl Serialize) -> Self {
        Self {
            status: StatusCode::OK,
            body: ReplyBody::Json(serde_json::to_value(body).expect("views serialize")),
            cookies: Vec::new(),
            location: None,
            no_store: false,
            empty: false,
        }
    }

    /// A JSON answer serialized beforehand.
    pub fn json_text(text: axum::body::Bytes) -> Self {
        Self {
            body: ReplyBody::JsonText(text),
            ..Self::json(Value::Null)
        }
    }

    pub fn html(body: String) -> Self {
        Self {
            body: ReplyBody::Html(body),
            ..Self::json(Value::Null)
        }
    }

    pub fn with_cookies(mut self, cookies: impl IntoIterator<Item = String>) -> Self {
        self.cookies.extend(cookies);
        self
    }

    /// `Cache-Control: no-store` and `Pragma: no-cache`, as on `/get-session`.
    pub fn no_store(mut self) -> Self {
        self.no_store = true;
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let (content_type, body) = match self.body {
            _ if self.empty => (None, Body::empty()),
            ReplyBody::Json(value) => (Some("application/json"), Body::from(value.to_string())),
            ReplyBody::JsonText(text) => (Some("application/json"), Body::from(text)),
            ReplyBody::Html(html) => (Some("text/html"), Body::from(html)),
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if self.no_store {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(LOCATION, location);
        }
        append_cookies(headers, self.cookies);
        response
    }
}

/// A failed answer, with any cookies that must still be sent (e.g. clearing a dead
/// session's cookies on a 401).
#[derive(Debug)]
pub struct Failure {
    pub error: AuthError,
    pub cookies: Vec<String>,
    pub no_store: bool,
}

impl Failure {
    pub fn with_cookies(mut self, cookies: impl IntoIterator<Item = String>) -> Self {
        self.cookies.extend(cookies);
        self
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        Self {
            error,
            cookies: Vec::new(),
            no_store: false,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = self.error.status();
        let (body, json) = match &self.error {
            AuthError::Api { code, message, .. } => (
                serde_json::json!({ "message": message, "code": code.as_str() }).to_string(),
                true,
            ),
            AuthError::Custom { code, message, .. } => (
                serde_json::json!({ "message": message, "code": code }).to_string(),
                true,
            ),
            AuthError::MessageOnly { message, .. } => {
                (serde_json::json!({ "message": message }).to_string(), true)
            }
            AuthError::Saturated { .. } => (
                serde_json::json!({ "message": "Too many requests. Please try again later." })
                    .to_string(),
                true,
            ),
            AuthError::Empty(_) => (String::new(), true),
            AuthError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (String::new(), false)
            }
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if json {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let AuthError::Saturated { retry_after_secs } = self.error {
            headers.insert("x-retry-after", HeaderValue::from(retry_after_secs));
        }
        if self.no_store {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        }
        append_cookies(headers, self.cookies);
        response
    }
}

fn append_cookies(headers: &mut axum::http::HeaderMap, cookies: Vec<String>) {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
}

/// What handlers return.
pub type Handled = Result<Reply, Failure>;

/// `2026-11-30T00:11:11.839Z`: JavaScript's `Date.toJSON`.
pub fn iso(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A user as Better Auth returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub id: String,
}

impl From<&UserRow> for UserView {
    fn from(row: &UserRow) -> Self {
        Self {
            name: row.name.clone(),
            email: row.email.clone(),
            email_verified: row.email_verified,
            image: row.image.clone(),
            created_at: iso(&row.created_at),
            updated_at: iso(&row.updated_at),
            id: row.id.clone(),
        }
    }
}

/// A session as Better Auth returns it. `token` is the raw token for the caller's own
/// session and a revocation handle for the others (see `Auth::list_sessions`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub expires_at: String,
    pub token: String,
    pub created_at: String,
    pub updated_at: String,
    pub ip_address: String,
    pub user_agent: String,
    pub user_id: String,
    pub id: String,
}

impl SessionView {
    pub fn new(row: &SessionRow, token: &str) -> Self {
        Self {
            expires_at: iso(&row.expires_at),
            token: token.to_owned(),
            created_at: iso(&row.created_at),
            updated_at: iso(&row.updated_at),
            ip_address: row.ip_address.clone(),
            user_agent: row.user_agent.clone(),
            user_id: row.user_id.clone(),
            id: row.id.clone(),
        }
    }
}

/// An account as `/list-accounts` returns it: no tokens, no password, scopes split.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub account_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub id: String,
    pub scopes: Vec<String>,
}

impl From<&AccountRow> for AccountView {
    fn from(row: &AccountRow) -> Self {
        Self {
            account_id: row.account_id.clone(),
            provider_id: row.provider_id.clone(),
            user_id: row.user_id.clone(),
            created_at: iso(&row.created_at),
            updated_at: iso(&row.updated_at),
            id: row.id.clone(),
            scopes: row
                .scope
                .as_deref()
                .map(|scope| scope.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        }
    }
}

impl From<crate::error::ErrorCode> for Failure {
    fn from(code: crate::error::ErrorCode) -> Self {
        AuthError::code(code).into()
    }
}
