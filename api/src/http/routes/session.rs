//! `GET /get-session`, `GET /list-sessions` and the three revocation endpoints.

use axum::extract::State;
use serde_json::{json, Value};

use crate::auth::SessionOptions;
use crate::error::{AuthError, ErrorCode};
use crate::http::body::{self, required, Accepts, Kind, Schema, Shape};
use crate::http::cookies::{self, SessionCookie};
use crate::http::origin::{self, Csrf};
use crate::http::reply::{Failure, Handled, Reply, SessionView, UserView};
use crate::http::request::ApiRequest;
use crate::http::AppState;

const REVOKE_SESSION: Schema = Schema {
    shape: Shape::Object,
    fields: &[required("token", Kind::String)],
    optional: false,
};

/// Better Auth coerces these flags with JavaScript truthiness: any non-empty value,
/// including `"false"`, is true.
fn flag(request: &ApiRequest, name: &str) -> bool {
    request
        .query_param(name)
        .is_some_and(|value| !value.is_empty())
}

pub(crate) async fn get_session(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let options = SessionOptions {
        disable_refresh: flag(&request, "disableRefresh"),
    };
    let token = match SessionCookie::read(&request.headers, &state.cookies, state.auth.signer()) {
        SessionCookie::Signed(token) => token,
        SessionCookie::Absent => {
            // A cookie-cache cookie without a valid session is stale: clear it.
            let stray: Vec<String> = cookies::cookies(&request.headers)
                .map(|(name, _)| name)
                .filter(|name| is_session_data(name, &state.cookies.session_data))
                .map(|name| state.cookies.expire(name))
                .collect();
            return Ok(Reply::json(Value::Null).no_store().with_cookies(stray));
        }
    };
    let current = state
        .auth
        .session(&token, options)
        .await
        .map_err(|error| Failure {
            no_store: true,
            ..Failure::from(error)
        })?;
    match current {
        Some(current) => {
            let cookies = state.refreshed_cookies(&current);
            Ok(Reply::json(json!({
                "session": SessionView::new(&current.session, &current.token),
                "user": UserView::from(&current.user),
            }))
            .no_store()
            .with_cookies(cookies))
        }
        None => Ok(Reply::json(Value::Null)
            .no_store()
            .with_cookies(state.cookies.clear_session())),
    }
}

fn is_session_data(name: &str, session_data: &str) -> bool {
    name == session_data
        || name
            .strip_prefix(session_data)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|index| index.parse::<u32>().is_ok())
}

/// POST is only for `deferSessionRefresh`, which authlog does not offer.
pub(crate) async fn post_get_session(
    State(state): State<AppState>,
    request: ApiRequest,
) -> Handled {
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    Err(Failure {
        no_store: true,
        ..Failure::from(AuthError::code(
            ErrorCode::METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED,
        ))
    })
}

pub(crate) async fn list_sessions(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let current = state.require_session(&request).await?;
    let sessions = state.auth.list_sessions(&current).await?;
    let views: Vec<SessionView> = sessions
        .iter()
        .map(|s| SessionView::new(&s.session, &s.token))
        .collect();
    Ok(Reply::json(views).with_cookies(state.refreshed_cookies(&current)))
}

pub(crate) async fn revoke_session(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let body = body::validate(&REVOKE_SESSION, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let current = state.require_session(&request).await?;
    let target = body::string(&body, "token").unwrap_or_default();
    let ended_own = state
        .auth
        .revoke_session(&current, &target, &request.context())
        .await?;
    let cookies = if ended_own {
        state.cookies.clear_session()
    } else {
        state.refreshed_cookies(&current)
    };
    Ok(Reply::json(json!({ "status": true })).with_cookies(cookies))
}

pub(crate) async fn revoke_sessions(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let _ = body::parse(&request, Accepts::Json)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let current = state.require_session(&request).await?;
    state
        .auth
        .revoke_sessions(&current, false, &request.context())
        .await?;
    Ok(Reply::json(json!({ "status": true })).with_cookies(state.cookies.clear_session()))
}

pub(crate) async fn revoke_other_sessions(
    State(state): State<AppState>,
    request: ApiRequest,
) -> Handled {
    let _ = body::parse(&request, Accepts::Json)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let current = state.require_session(&request).await?;
    state
        .auth
        .revoke_sessions(&current, true, &request.context())
        .await?;
    Ok(Reply::json(json!({ "status": true })).with_cookies(state.refreshed_cookies(&current)))
}
