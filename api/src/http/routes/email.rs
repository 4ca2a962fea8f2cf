//! Email verification, password reset and email change:
//! `POST /send-verification-email`, `GET /verify-email`, `POST /request-password-reset`,
//! `GET /reset-password/{token}`, `POST /reset-password`, `POST /change-email`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::{CurrentSession, SessionOptions};
use crate::error::{AuthError, ErrorCode};
use crate::http::body::{self, optional, required, Accepts, Kind, Schema, Shape};
use crate::http::cookies::{SessionCookie, SetCookies};
use crate::http::origin::{self, check_callback, Csrf};
use crate::http::reply::{Failure, Handled, Reply, UserView};
use crate::http::request::ApiRequest;
use crate::http::routes::Trust;
use crate::http::AppState;

const SEND_VERIFICATION: Schema = Schema {
    shape: Shape::Object,
    fields: &[required("email", Kind::Email)],
    optional: false,
};

const REQUEST_RESET: Schema = Schema {
    shape: Shape::Object,
    fields: &[required("email", Kind::Email)],
    optional: false,
};

const RESET_PASSWORD: Schema = Schema {
    shape: Shape::Object,
    fields: &[
        required("newPassword", Kind::String),
        optional("token", Kind::String),
    ],
    optional: false,
};

const CHANGE_EMAIL: Schema = Schema {
    shape: Shape::Object,
    fields: &[required("newEmail", Kind::Email)],
    optional: false,
};

impl AppState {
    /// The caller's session if they have one; anonymous otherwise (never an error).
    async fn optional_session(
        &self,
        request: &ApiRequest,
    ) -> Result<Option<CurrentSession>, Failure> {
        match SessionCookie::read(&request.headers, &self.cookies, self.auth.signer()) {
            SessionCookie::Absent => Ok(None),
            SessionCookie::Signed(token) => {
                Ok(self.auth.session(&token, SessionOptions::default()).await?)
            }
        }
    }
}

/// A required query parameter, or zod's error for it.
fn required_query(request: &ApiRequest, name: &str) -> Result<String, AuthError> {
    request.query_param(name).ok_or_else(|| {
        AuthError::with_message(
            ErrorCode::VALIDATION_ERROR,
            format!("[query.{name}] Invalid input: expected string, received undefined"),
        )
    })
}

/// What `URLSearchParams` leaves alone besides letters and digits (a space becomes `+`).
const FORM_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b' ');

/// `url` with `name=value` added to its query as `URLSearchParams` would, keeping a relative
/// URL relative.
fn with_query(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = url
        .split_once('#')
        .map_or((url, None), |(b, f)| (b, Some(f)));
    let separator = if base.contains('?') { '&' } else { '?' };
    let value = percent_encoding::utf8_percent_encode(value, FORM_VALUE)
        .to_string()
        .replace(' ', "+");
    match fragment {
        Some(fragment) => format!("{base}{separator}{name}={value}#{fragment}"),
        None => format!("{base}{separator}{name}={value}"),
    }
}

fn redirect(location: String) -> Reply {
    let mut reply = Reply::json(serde_json::Value::Null);
    reply.status = StatusCode::FOUND;
    reply.location = Some(location);
    reply.empty = true;
    reply
}

pub(crate) async fn send_verification_email(
    State(state): State<AppState>,
    request: ApiRequest,
) -> Handled {
    let body = body::validate(&SEND_VERIFICATION, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let callback = check_callback(
        body.get("callbackURL"),
        "callbackURL",
        &state.trusted,
        ErrorCode::INVALID_CALLBACK_URL,
    )?;
    let current = state.optional_session(&request).await?;
    let email = body::string(&body, "email").unwrap_or_default();
    state
        .auth
        .send_verification_email(current.as_ref(), &email, callback, &request.context())
        .await?;
    Ok(Reply::json(json!({ "status": true })))
}

pub(crate) async fn verify_email(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let token = required_query(&request, "token")?;
    let callback = request.query_param("callbackURL");
    if let Some(url) = &callback {
        if !state.trusted.allows_callback(url) {
            return Err(ErrorCode::INVALID_CALLBACK_URL.into());
        }
    }
    let current = state.optional_session(&request).await?;
    let verified = match state
        .auth
        .verify_email(&token, current.as_ref(), &request.context())
        .await
    {
        Ok(verified) => verified,
        Err(AuthError::Api { code, message, .. }) => {
            // Better Auth sends the user back to the app with the code, or answers 401.
            return match &callback {
                Some(url) => Ok(redirect(with_query(url, "error", code.as_str()))),
                None => Err(AuthError::with_message(code, message)
                    .with_status(StatusCode::UNAUTHORIZED)
                    .into()),
            };
        }
        Err(other) => return Err(other.into()),
    };
    let mut cookies = SetCookies::default();
    if let Some(new) = &verified.new_session {
        // The cookie cache holds the verified user: read the new session back with it.
        let options = SessionOptions {
            disable_refresh: true,
        };
        if let Some(signed_in) = state.auth.session(&new.token, options).await? {
            state.set_session_cookies(
                &mut cookies,
                &request.headers,
                &new.token,
                &signed_in.session,
                &signed_in.user,
                false,
            );
        }
    } else if let (Some(current), Some(user)) = (&current, &verified.changed_user) {
        state.set_session_cookies(
            &mut cookies,
            &request.headers,
            &current.token,
            &current.session,
            user,
            current.session.dont_remember,
        );
    }
    let reply = match callback {
        Some(url) => redirect(url),
        None => Reply::json(json!({
            "status": true,
            "user": verified.changed_user.as_ref().map(UserView::from),
        })),
    };
    Ok(reply.with_cookies(cookies))
}

pub(crate) async fn request_password_reset(
    State(state): State<AppState>,
    request: ApiRequest,
) -> Handled {
    let body = body::validate(&REQUEST_RESET, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let redirect_to = check_callback(
        body.get("redirectTo"),
        "redirectTo",
        &state.trusted,
        ErrorCode::INVALID_REDIRECT_URL,
    )?;
    let email = body::string(&body, "email").unwrap_or_default();
    state
        .auth
        .request_password_reset(&email, redirect_to, &request.context())
        .await?;
    Ok(Reply::json(json!({
        "status": true,
        "message": "If this email exists in our system, check your email for the reset link",
    })))
}

pub(crate) async fn reset_password_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: ApiRequest,
) -> Handled {
    let callback = required_query(&request, "callbackURL")?;
    if !state.trusted.allows_callback(&callback) {
        return Err(ErrorCode::INVALID_CALLBACK_URL.into());
    }
    // Better Auth resolves the callback against the base URL: the app gets an absolute link.
    let absolute = if callback.starts_with('/') {
        format!("{}{callback}", state.auth.config().base_origin())
    } else {
        callback
    };
    let location = if state.auth.reset_token_is_valid(&token).await? {
        with_query(&absolute, "token", &token)
    } else {
        with_query(&absolute, "error", "INVALID_TOKEN")
    };
    Ok(redirect(location))
}

pub(crate) async fn reset_password(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let body = body::validate(&RESET_PASSWORD, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let Some(token) = body::string(&body, "token").or_else(|| request.query_param("token")) else {
        return Err(AuthError::code(ErrorCode::INVALID_TOKEN)
            .with_status(StatusCode::BAD_REQUEST)
            .into());
    };
    let new_password = body::string(&body, "newPassword").unwrap_or_default();
    state
        .auth
        .reset_password(&token, &new_password, &request.context())
        .await?;
    Ok(Reply::json(json!({ "status": true })))
}

pub(crate) async fn change_email(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let body = body::validate(&CHANGE_EMAIL, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let callback = check_callback(
        body.get("callbackURL"),
        "callbackURL",
        &state.trusted,
        ErrorCode::INVALID_CALLBACK_URL,
    )?;
    let mut caller = state.require_session(&request, Trust::Store).await?;
    let new_email = body::string(&body, "newEmail").unwrap_or_default();
    let changed = state
        .auth
        .change_email(&caller.current, &new_email, callback, &request.context())
        .await?;
    if let Some(user) = &changed {
        let current = &caller.current;
        state.set_session_cookies(
            &mut caller.cookies,
            &request.headers,
            &current.token,
            &current.session,
            user,
            current.session.dont_remember,
        );
    }
    Ok(Reply::json(json!({ "status": true })).with_cookies(caller.cookies))
}

#[cfg(test)]
mod tests {
    use super::with_query;

    #[test]
    fn query_parameters_are_appended_keeping_relative_urls() {
        assert_eq!(
            with_query("/dash", "error", "INVALID_TOKEN"),
            "/dash?error=INVALID_TOKEN"
        );
        assert_eq!(
            with_query("/dash?x=1#top", "token", "a b/c_d"),
            "/dash?x=1&token=a+b%2Fc_d#top"
        );
        assert_eq!(
            with_query("https://app.example/r", "token", "abc"),
            "https://app.example/r?token=abc"
        );
    }
}
