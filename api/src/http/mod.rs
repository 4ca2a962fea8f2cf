//! Better Auth's HTTP API on axum.
//!
//! Layout:
//! - [`request`] - the `ApiRequest` extractor and the caller's context (IP, user agent).
//! - [`body`] - content types, JSON and form bodies, and the zod-like schema checks that
//!   give Better Auth's `VALIDATION_ERROR` messages.
//! - [`cookies`] - cookie names, signed values, the Set-Cookie lines.
//! - [`cookie_cache`] - the `session_data` cookie: compact, jwt and jwe seals, chunking.
//! - [`origin`] - the origin/CSRF checks and callback URL validation.
//! - [`reply`] - responses, failures and the JSON views of users, sessions and accounts.
//! - [`routes`] - one file per group of endpoints.
//!
//! Each handler follows Better Auth's order: parse and validate the body, check the origin,
//! then authenticate and act.

pub mod body;
pub mod cookie_cache;
pub mod cookies;
pub mod origin;
pub mod reply;
pub mod request;
mod routes;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::auth::Auth;
use cookie_cache::CookieCache;
use cookies::CookieNames;
use origin::TrustedOrigins;

/// What every handler shares. axum clones it for every request, so what owns strings sits
/// behind an `Arc`.
#[derive(Clone, Debug)]
pub struct AppState {
    pub auth: Auth,
    pub cookies: Arc<CookieNames>,
    /// `None` when the cookie cache is off.
    pub cookie_cache: Option<Arc<CookieCache>>,
    pub trusted: Arc<TrustedOrigins>,
}

impl AppState {
    pub fn new(auth: Auth) -> Self {
        let config = auth.config();
        Self {
            cookies: Arc::new(CookieNames::new(config)),
            cookie_cache: CookieCache::new(config).map(Arc::new),
            trusted: Arc::new(TrustedOrigins::new(config.all_trusted_origins())),
            auth,
        }
    }
}

/// The Better Auth routes under the configured base path. Anything else, including a
/// wrong method or a trailing slash, is a 404 with an empty body, as in Better Auth.
pub fn router(auth: Auth) -> Router {
    let state = AppState::new(auth);
    let base = state
        .auth
        .config()
        .base_path
        .trim_end_matches('/')
        .to_owned();
    let api = Router::new()
        .route("/sign-up/email", post(routes::sign::sign_up_email))
        .route("/sign-in/email", post(routes::sign::sign_in_email))
        .route("/sign-out", post(routes::sign::sign_out))
        .route(
            "/get-session",
            get(routes::session::get_session).post(routes::session::post_get_session),
        )
        .route("/list-sessions", get(routes::session::list_sessions))
        .route("/revoke-session", post(routes::session::revoke_session))
        .route("/revoke-sessions", post(routes::session::revoke_sessions))
        .route(
            "/revoke-other-sessions",
            post(routes::session::revoke_other_sessions),
        )
        .route("/update-user", post(routes::user::update_user))
        .route("/change-password", post(routes::user::change_password))
        .route("/delete-user", post(routes::user::delete_user))
        .route("/list-accounts", get(routes::user::list_accounts))
        .route(
            "/send-verification-email",
            post(routes::email::send_verification_email),
        )
        .route("/verify-email", get(routes::email::verify_email))
        .route(
            "/request-password-reset",
            post(routes::email::request_password_reset),
        )
        .route(
            "/reset-password/{token}",
            get(routes::email::reset_password_link),
        )
        .route("/reset-password", post(routes::email::reset_password))
        .route("/change-email", post(routes::email::change_email))
        .route("/audit/list", get(routes::audit::list))
        .route("/ok", get(routes::misc::ok))
        .route("/error", get(routes::misc::error_page))
        .method_not_allowed_fallback(not_found)
        .with_state(state);
    let router = if base.is_empty() {
        api
    } else {
        Router::new().nest(&base, api)
    };
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(no_implicit_head))
}

/// axum answers HEAD for every GET route; Better Auth's router does not (404).
async fn no_implicit_head(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.method() == axum::http::Method::HEAD {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

async fn not_found() -> impl IntoResponse {
    StatusCode::NOT_FOUND
}
