//! `GET /get-session`, `GET /list-sessions` and the three revocation endpoints.

use axum::extract::State;
use serde_json::{json, Value};

use crate::auth::SessionOptions;
use crate::error::{AuthError, ErrorCode};
use crate::http::body::{self, required, Accepts, Kind, Schema, Shape};
use crate::http::cookies::SetCookies;
use crate::http::origin::{self, Csrf};
use crate::http::reply::{Failure, Handled, Reply, SessionView, UserView};
use crate::http::request::ApiRequest;
use crate::http::routes::{Found, Trust};
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
    let trust = if flag(&request, "disableCookieCache") {
        Trust::Store
    } else {
        Trust::CookieCache
    };
    let mut cookies = SetCookies::default();
    let found = state
        .find_session(&request, trust, options, &mut cookies)
        .await
        .map_err(|error| Failure {
            no_store: true,
            ..Failure::from(error)
        })?;
    let body = match found {
        Found::CookieCache { cached, .. } => {
            return Ok(Reply::json_text(cached.answer.clone())
                .no_store()
                .with_cookies(cookies))
        }
        Found::Live(current) => json!({
            "session": SessionView::new(&current.session, &current.token),
            "user": UserView::from(&current.user),
        }),
        Found::Anonymous | Found::Gone => Value::Null,
    };
    Ok(Reply::json(body).no_store().with_cookies(cookies))
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
    let caller = state.require_session(&request, Trust::CookieCache).await?;
    let sessions = state.auth.list_sessions(&caller.current).await?;
    let views: Vec<SessionView> = sessions
        .iter()
        .map(|s| SessionView::new(&s.session, &s.token))
        .collect();
    Ok(Reply::json(views).with_cookies(caller.cookies))
}

pub(crate) async fn revoke_session(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let body = body::validate(&REVOKE_SESSION, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let mut caller = state.require_session(&request, Trust::Store).await?;
    let target = body::string(&body, "token").unwrap_or_default();
    let ended_own = state
        .auth
        .revoke_session(&caller.current, &target, &request.context())
        .await?;
    if ended_own {
        state
            .cookies
            .clear_session(&mut caller.cookies, &request.headers);
    }
    Ok(Reply::json(json!({ "status": true })).with_cookies(caller.cookies))
}

pub(crate) async fn revoke_sessions(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let _ = body::parse(&request, Accepts::Json)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let mut caller = state.require_session(&request, Trust::Store).await?;
    state
        .auth
        .revoke_sessions(&caller.current, false, &request.context())
        .await?;
    state
        .cookies
        .clear_session(&mut caller.cookies, &request.headers);
    Ok(Reply::json(json!({ "status": true })).with_cookies(caller.cookies))
}

pub(crate) async fn revoke_other_sessions(
    State(state): State<AppState>,
    request: ApiRequest,
) -> Handled {
    let _ = body::parse(&request, Accepts::Json)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let caller = state.require_session(&request, Trust::Store).await?;
    state
        .auth
        .revoke_sessions(&caller.current, true, &request.context())
        .await?;
    Ok(Reply::json(json!({ "status": true })).with_cookies(caller.cookies))
}
