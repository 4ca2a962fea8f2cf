//! `POST /sign-up/email`, `POST /sign-in/email`, `POST /sign-out`.

use axum::extract::State;
use serde_json::json;

use crate::auth::{SignInEmail, SignUpEmail};
use crate::error::ErrorCode;
use crate::http::body::{self, optional, required, Accepts, Kind, Schema, Shape};
use crate::http::cookies::{SessionCookie, SetCookies};
use crate::http::origin::{self, check_callback, Csrf};
use crate::http::reply::{Handled, Reply, UserView};
use crate::http::request::ApiRequest;
use crate::http::AppState;

const SIGN_UP: Schema = Schema {
    shape: Shape::ObjectAndRecord,
    fields: &[
        required("name", Kind::String),
        required("email", Kind::Email),
        required("password", Kind::NonEmptyString),
        optional("image", Kind::String),
        optional("rememberMe", Kind::Boolean),
    ],
    optional: false,
};

const SIGN_IN: Schema = Schema {
    shape: Shape::Object,
    fields: &[
        required("email", Kind::String),
        required("password", Kind::String),
        optional("rememberMe", Kind::Boolean),
    ],
    optional: false,
};

pub(crate) async fn sign_up_email(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let body = body::validate(&SIGN_UP, body::parse(&request, Accepts::JsonOrForm)?)?;
    origin::check(&request, &state.trusted, Csrf::LoginForm)?;
    // Validated as Better Auth does, though a sign-up answers with JSON, never a redirect.
    check_callback(
        body.get("callbackURL"),
        "callbackURL",
        &state.trusted,
        ErrorCode::INVALID_CALLBACK_URL,
    )?;
    let input = SignUpEmail {
        name: body::string(&body, "name").unwrap_or_default(),
        email: body::string(&body, "email").unwrap_or_default(),
        password: body::string(&body, "password").unwrap_or_default(),
        image: body::string(&body, "image"),
        remember_me: body::boolean(&body, "rememberMe", true),
        callback_url: body::string(&body, "callbackURL"),
    };
    let outcome = state.auth.sign_up_email(input, &request.context()).await?;
    let mut cookies = SetCookies::default();
    if let Some(new) = &outcome.session {
        state.set_session_cookies(
            &mut cookies,
            &request.headers,
            &new.token,
            &new.session,
            &outcome.user,
            new.session.dont_remember,
        );
    }
    Ok(Reply::json(json!({
        "token": outcome.session.as_ref().map(|new| &new.token),
        "user": UserView::from(&outcome.user),
    }))
    .with_cookies(cookies))
}

pub(crate) async fn sign_in_email(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let body = body::validate(&SIGN_IN, body::parse(&request, Accepts::JsonOrForm)?)?;
    origin::check(&request, &state.trusted, Csrf::LoginForm)?;
    let callback = check_callback(
        body.get("callbackURL"),
        "callbackURL",
        &state.trusted,
        ErrorCode::INVALID_CALLBACK_URL,
    )?;
    let input = SignInEmail {
        email: body::string(&body, "email").unwrap_or_default(),
        password: body::string(&body, "password").unwrap_or_default(),
        remember_me: body::boolean(&body, "rememberMe", true),
        callback_url: callback.clone(),
    };
    let (user, new) = state.auth.sign_in_email(input, &request.context()).await?;
    let mut reply = json!({
        "redirect": callback.is_some(),
        "token": new.token,
    });
    if let Some(url) = &callback {
        reply["url"] = json!(url);
    }
    reply["user"] = serde_json::to_value(UserView::from(&user)).expect("views serialize");
    let mut cookies = SetCookies::default();
    state.set_session_cookies(
        &mut cookies,
        &request.headers,
        &new.token,
        &new.session,
        &user,
        new.session.dont_remember,
    );
    let mut reply = Reply::json(reply).with_cookies(cookies);
    reply.location = callback;
    Ok(reply)
}

pub(crate) async fn sign_out(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let _ = body::parse(&request, Accepts::Json)?;
    origin::check(&request, &state.trusted, Csrf::Cookies)?;
    if let SessionCookie::Signed(token) =
        SessionCookie::read(&request.headers, &state.cookies, state.auth.signer())
    {
        state.auth.sign_out(&token, &request.context()).await?;
    }
    let mut cookies = SetCookies::default();
    state.cookies.clear_session(&mut cookies, &request.headers);
    Ok(Reply::json(json!({ "success": true })).with_cookies(cookies))
}
