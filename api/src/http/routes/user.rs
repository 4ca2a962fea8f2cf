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
use crate::http::routes::Trust;
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
    let mut caller = state.require_session(&request, Trust::CookieCache).await?;
    let changes = ProfileChanges {
        name: body::string(&body, "name"),
        image,
    };
    let user = state
        .auth
        .update_user(&caller.current, changes, &request.context())
        .await?;
    // Better Auth sends the session cookies again after a profile change, the cookie cache
    // with the updated user.
    let current = &caller.current;
    state.set_session_cookies(
        &mut caller.cookies,
        &request.headers,
        &current.token,
        &current.session,
        &user,
        current.session.dont_remember,
    );
    Ok(Reply::json(json!({ "status": true })).with_cookies(caller.cookies))
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
    let mut caller = state.require_session(&request, Trust::Store).await?;
    let input = ChangePassword {
        current_password: body::string(&body, "currentPassword").unwrap_or_default(),
        new_password: body::string(&body, "newPassword").unwrap_or_default(),
        revoke_other_sessions: body::boolean(&body, "revokeOtherSessions", false),
    };
    let new_session = state
        .auth
        .change_password(&caller.current, input, &request.context())
        .await?;
    let user = &caller.current.user;
    if let Some(new) = &new_session {
        state.set_session_cookies(
            &mut caller.cookies,
            &request.headers,
            &new.token,
            &new.session,
            user,
            false,
        );
    }
    let token = new_session.as_ref().map(|new| new.token.clone());
    Ok(
        Reply::json(json!({ "token": token, "user": UserView::from(user) }))
            .with_cookies(caller.cookies),
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
    let mut caller = state.require_session(&request, Trust::Store).await?;
    state
        .auth
        .delete_user(
            &caller.current,
            body::string(&body, "password"),
            body::string(&body, "token"),
            &request.context(),
        )
        .await?;
    state
        .cookies
        .clear_session(&mut caller.cookies, &request.headers);
    Ok(
        Reply::json(json!({ "success": true, "message": "User deleted" }))
            .with_cookies(caller.cookies),
    )
}

pub(crate) async fn list_accounts(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let caller = state.require_session(&request, Trust::CookieCache).await?;
    let accounts = state.auth.list_accounts(&caller.current).await?;
    let views: Vec<AccountView> = accounts.iter().map(AccountView::from).collect();
    Ok(Reply::json(views).with_cookies(caller.cookies))
}
