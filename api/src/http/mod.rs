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

use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::auth::Auth;
use cookie_cache::CookieCache;
use cookies::CookieNames;
use origin::TrustedOrigins;

/// What every handler shares. axum clones it for every request, so it is one `Arc`: one
/// reference count to move per request, not one per field.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Shared {
    pub auth: Auth,
    pub cookies: CookieNames,
    /// `None` when the cookie cache is off.
    pub cookie_cache: Option<CookieCache>,
    pub trusted: TrustedOrigins,
}

impl AppState {
    pub fn new(auth: Auth) -> Self {
        let config = auth.config();
        Self(Arc::new(Shared {
            cookies: CookieNames::new(config),
            cookie_cache: CookieCache::new(config),
            trusted: TrustedOrigins::new(config.all_trusted_origins()),
            auth,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The Better Auth routes under the configured base path. Anything else, including a
/// wrong method or a trailing slash, is a 404 with an empty body, as in Better Auth.
///
/// Each route is registered under its full path rather than nested under the base path, and
/// HEAD is refused per route rather than by a middleware: nesting rewrites every request's
/// URI and a middleware clones the router per request, which together cost the cookie-cache
/// hit path several percent.
pub fn router(auth: Auth) -> Router {
    let state = AppState::new(auth);
    let base = state
        .auth
        .config()
        .base_path
        .trim_end_matches('/')
        .to_owned();
    let at = |path: &str| format!("{base}{path}");
    Router::new()
        .route(&at("/sign-up/email"), post(routes::sign::sign_up_email))
        .route(&at("/sign-in/email"), post(routes::sign::sign_in_email))
        .route(&at("/sign-out"), post(routes::sign::sign_out))
        .route(
            &at("/get-session"),
            get_only(routes::session::get_session).post(routes::session::post_get_session),
        )
        .route(
            &at("/list-sessions"),
            get_only(routes::session::list_sessions),
        )
        .route(
            &at("/revoke-session"),
            post(routes::session::revoke_session),
        )
        .route(
            &at("/revoke-sessions"),
            post(routes::session::revoke_sessions),
        )
        .route(
            &at("/revoke-other-sessions"),
            post(routes::session::revoke_other_sessions),
        )
        .route(&at("/update-user"), post(routes::user::update_user))
        .route(&at("/change-password"), post(routes::user::change_password))
        .route(&at("/delete-user"), post(routes::user::delete_user))
        .route(&at("/list-accounts"), get_only(routes::user::list_accounts))
        .route(
            &at("/send-verification-email"),
            post(routes::email::send_verification_email),
        )
        .route(&at("/verify-email"), get_only(routes::email::verify_email))
        .route(
            &at("/request-password-reset"),
            post(routes::email::request_password_reset),
        )
        .route(
            &at("/reset-password/{token}"),
            get_only(routes::email::reset_password_link),
        )
        .route(&at("/reset-password"), post(routes::email::reset_password))
        .route(&at("/change-email"), post(routes::email::change_email))
        .route(&at("/audit/list"), get_only(routes::audit::list))
        .route(&at("/ok"), get_only(routes::misc::ok))
        .route(&at("/error"), get_only(routes::misc::error_page))
        .method_not_allowed_fallback(not_found)
        .fallback(not_found)
        .with_state(state)
}

/// A GET route that refuses HEAD: axum answers HEAD for every GET route, Better Auth's
/// router does not (404).
fn get_only<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    get(handler).head(not_found)
}

async fn not_found() -> impl IntoResponse {
    StatusCode::NOT_FOUND
}
