//! Handlers, one file per group of endpoints, and what they share.

pub(super) mod email;
pub(super) mod misc;
pub(super) mod session;
pub(super) mod sign;
pub(super) mod user;

use super::cookies::SessionCookie;
use super::reply::Failure;
use super::request::ApiRequest;
use super::AppState;
use crate::auth::{CurrentSession, SessionOptions};
use crate::error::{AuthError, ErrorCode};

impl AppState {
    /// The caller's session for an endpoint that needs one. No (valid) cookie is a plain
    /// 401; a signed cookie naming a dead session is a 401 that also clears the cookies.
    pub(super) async fn require_session(
        &self,
        request: &ApiRequest,
    ) -> Result<CurrentSession, Failure> {
        match SessionCookie::read(&request.headers, &self.cookies, self.auth.signer()) {
            SessionCookie::Absent => Err(ErrorCode::UNAUTHORIZED.into()),
            SessionCookie::Signed(token) => {
                match self.auth.session(&token, SessionOptions::default()).await? {
                    Some(current) => Ok(current),
                    None => Err(Failure::from(AuthError::code(ErrorCode::UNAUTHORIZED))
                        .with_cookies(self.cookies.clear_session())),
                }
            }
        }
    }

    /// The Set-Cookie lines of a session: (re)issued with its full lifetime, or as a
    /// browser-session cookie when "remember me" was off.
    pub(super) fn session_cookies(&self, token: &str, dont_remember: bool) -> Vec<String> {
        let max_age = self.auth.config().session.expires_in.as_secs();
        self.cookies
            .session(self.auth.signer(), token, dont_remember, max_age)
    }

    /// The cookie to send again when looking the session up extended it.
    pub(super) fn refreshed_cookies(&self, current: &CurrentSession) -> Vec<String> {
        if current.refreshed {
            self.session_cookies(&current.token, current.session.dont_remember)
        } else {
            Vec::new()
        }
    }
}
