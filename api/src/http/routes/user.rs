//! `POST /update-user`, `POST /change-password`, `POST /delete-user`, `GET /list-accounts`.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::auth::{ChangePassword, ProfileChanges};
use crate::error::{AuthError, ErrorCode};
use crate::http::body::{self, optional, required, Accepts, Kind, Schema, Shape};
use crate::http::origin::{self, check_callback, Csrf};
use crate::http::reply::{AccountView, Handled, Reply, UserView};
use crate::http::request::ApiRequest;
use crate::http::AppState;

/// Better Auth takes any record here and picks the fields it knows; authlog also requires
/// `name` to be a string (Better Auth stores `5` as `"5.0"` and fails on `null`).
const UPDATE_USER: Schema = Schema {
    shape: Shape::Record,
    fields: &[optional("name", Kind::String)],
    optional: false,
};

const CHANGE_PASSWORD: Schema = Schema {
    shape: Shape::Object,
    fields: &[
        required("newPassword", Kind::String),
        required("currentPassword", Kind::String),
        optional("revokeOtherSessions", Kind::Boolean),
    ],
    optional: false,
};

const DELETE_USER: Schema = Schema {
    shape: Shape::Object,
    fields: &[
        optional("password", Kind::String),
        optional("token", Kind::String),
    ],
    optional: false,
};

pub(crate) async fn update_user(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let body = body::validate(&UPDATE_USER, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    if body.contains_key("email") {
        return Err(ErrorCode::EMAIL_CAN_NOT_BE_UPDATED.into());
    }
    let image = match body.get("image") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(image)) => Some(Some(image.clone())),
        Some(other) => {
            return Err(AuthError::with_message(
                ErrorCode::VALIDATION_ERROR,
                format!(
                    "[body.image] Invalid input: expected string, received {}",
                    kind_of(other)
                ),
            )
            .into())
        }
    };
    let current = state.require_session(&request).await?;
    let changes = ProfileChanges {
        name: body::string(&body, "name"),
        image,
    };
    state
        .auth
        .update_user(&current, changes, &request.context())
        .await?;
    // Better Auth sends the session cookie again after a profile change.
    let cookies = state.session_cookies(&current.token, current.session.dont_remember);
    Ok(Reply::json(json!({ "status": true })).with_cookies(cookies))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(crate) async fn change_password(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let body = body::validate(&CHANGE_PASSWORD, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    let current = state.require_session(&request).await?;
    let input = ChangePassword {
        current_password: body::string(&body, "currentPassword").unwrap_or_default(),
        new_password: body::string(&body, "newPassword").unwrap_or_default(),
        revoke_other_sessions: body::boolean(&body, "revokeOtherSessions", false),
    };
    let new_session = state
        .auth
        .change_password(&current, input, &request.context())
        .await?;
    let (token, cookies) = match &new_session {
        Some(new) => (
            Some(new.token.clone()),
            state.session_cookies(&new.token, false),
        ),
        None => (None, state.refreshed_cookies(&current)),
    };
    Ok(
        Reply::json(json!({ "token": token, "user": UserView::from(&current.user) }))
            .with_cookies(cookies),
    )
}

pub(crate) async fn delete_user(State(state): State<AppState>, request: ApiRequest) -> Handled {
    if !state.auth.config().delete_user_enabled {
        return Err(AuthError::Empty(StatusCode::NOT_FOUND).into());
    }
    let body = body::validate(&DELETE_USER, body::parse(&request, Accepts::Json)?)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    check_callback(
        body.get("callbackURL"),
        "callbackURL",
        &state.trusted,
        ErrorCode::INVALID_CALLBACK_URL,
    )?;
    let current = state.require_session(&request).await?;
    state
        .auth
        .delete_user(
            &current,
            body::string(&body, "password"),
            body::string(&body, "token"),
            &request.context(),
        )
        .await?;
    Ok(
        Reply::json(json!({ "success": true, "message": "User deleted" }))
            .with_cookies(state.cookies.clear_session()),
    )
}

pub(crate) async fn list_accounts(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let current = state.require_session(&request).await?;
    let accounts = state.auth.list_accounts(&current).await?;
    let views: Vec<AccountView> = accounts.iter().map(AccountView::from).collect();
    Ok(Reply::json(views).with_cookies(state.refreshed_cookies(&current)))
}
