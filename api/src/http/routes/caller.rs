//! Finding the caller's session the way Better Auth's get-session does (its session
//! middlewares call the same code), cheapest first: the `session_data` cookie, then
//! `Auth::session` (the in-process cache, then one indexed read). Also the Set-Cookie lines
//! that go with it: the cookie cache re-issued after a read that did not come from it, the
//! session cookies after a refresh, and the deletions for a dead session.

use authlog_projections::read::{SessionRow, UserRow};
use axum::http::HeaderMap;

use crate::auth::{CurrentSession, SessionOptions};
use crate::error::{AuthError, ErrorCode};
use crate::http::cookie_cache::OpenedCookie;
use crate::http::cookies::{SessionCookie, SetCookies};
use crate::http::reply::{Failure, SessionView, UserView};
use crate::http::request::ApiRequest;
use crate::http::AppState;

/// Which copy of the session may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    /// A valid `session_data` cookie is enough: get-session, and the endpoints behind
    /// Better Auth's `sessionMiddleware` (list-sessions, list-accounts, update-user).
    CookieCache,
    /// Only the stored session: get-session with `disableCookieCache`, and the endpoints
    /// behind Better Auth's `sensitiveSessionMiddleware` (revocations, change-password,
    /// delete-user).
    Store,
}

/// What the request's cookies lead to.
// Lives for one request on the stack; boxing `Live` would add an allocation to every
// get-session that reads the store.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Found {
    /// No session cookie, or one whose signature does not hold.
    Anonymous,
    /// A valid `session_data` cookie for the signed token: nothing else was read.
    CookieCache {
        token: String,
        cached: std::sync::Arc<OpenedCookie>,
    },
    /// The stored session, possibly just extended.
    Live(CurrentSession),
    /// A signed token naming no live session; the cookies are being cleared.
    Gone,
}

/// A signed-in caller of a session-protected endpoint, and the Set-Cookie lines that
/// finding them produced (the handler adds its own after them).
#[derive(Debug)]
pub(crate) struct Caller {
    pub current: CurrentSession,
    pub cookies: SetCookies,
}

impl AppState {
    /// Better Auth's get-session, minus the answer: finds the caller's session and adds the
    /// Set-Cookie lines that go with what was found to `cookies`.
    pub(crate) async fn find_session(
        &self,
        request: &ApiRequest,
        trust: Trust,
        options: SessionOptions,
        cookies: &mut SetCookies,
    ) -> Result<Found, AuthError> {
        let headers = &request.headers;
        let cache_value = self.cookies.session_data_value(headers);
        if self.cookie_cache.is_none() && cache_value.is_some() {
            // The cache is off, so a cache cookie can only be stale.
            for name in self.cookies.session_data_cookies(headers) {
                cookies.push(self.cookies.expire(name));
            }
        }
        let token = match SessionCookie::read(headers, &self.cookies, self.auth.signer()) {
            SessionCookie::Signed(token) => token,
            SessionCookie::Absent => return Ok(Found::Anonymous),
        };
        if let (Some(cache), Some(value), Trust::CookieCache) =
            (&self.cookie_cache, &cache_value, trust)
        {
            let cached = cache.read(value, &token, self.auth.now()).filter(|opened| {
                let cached = &opened.cached;
                !self.auth.is_revoked(cached.session_id(), cached.user_id())
                    && !self
                        .auth
                        .is_outdated(cached.user_id(), cached.user_updated_at())
            });
            match cached {
                Some(cached) => return Ok(Found::CookieCache { token, cached }),
                // Stale, forged, of another version, or revoked: drop it, read the store.
                None => self
                    .cookies
                    .expire_pending(cookies, &self.cookies.session_data),
            }
        }
        let Some(current) = self.auth.session(&token, options).await? else {
            self.cookies.clear_session(cookies, headers);
            return Ok(Found::Gone);
        };
        if current.refreshed {
            self.set_session_cookies(
                cookies,
                headers,
                &current.token,
                &current.session,
                &current.user,
                false,
            );
        } else if !(current.session.dont_remember || options.disable_refresh) {
            // Better Auth leaves the cache alone on these two paths, and re-issues it on
            // every other read that did not come from it.
            self.issue_cookie_cache(
                cookies,
                headers,
                &current.token,
                &current.session,
                &current.user,
                false,
            );
        }
        Ok(Found::Live(current))
    }

    /// The caller of an endpoint that needs a session. No (valid) cookie is a plain 401; a
    /// signed cookie naming a dead session is a 401 that also clears the cookies.
    pub(crate) async fn require_session(
        &self,
        request: &ApiRequest,
        trust: Trust,
    ) -> Result<Caller, Failure> {
        let mut cookies = SetCookies::default();
        let unauthorized = |cookies: SetCookies| {
            Failure::from(AuthError::code(ErrorCode::UNAUTHORIZED)).with_cookies(cookies)
        };
        match self
            .find_session(request, trust, SessionOptions::default(), &mut cookies)
            .await?
        {
            Found::Live(current) => Ok(Caller { current, cookies }),
            Found::CookieCache { token, .. } => {
                // Better Auth would act on the cookie's copy of the session; authlog acts on
                // the stored one (the cookie only spared get-session a read), without
                // extending it, as Better Auth does not extend a session on a cache hit.
                let options = SessionOptions {
                    disable_refresh: true,
                };
                match self.auth.session(&token, options).await? {
                    Some(current) => Ok(Caller { current, cookies }),
                    None => {
                        self.cookies.clear_session(&mut cookies, &request.headers);
                        Err(unauthorized(cookies))
                    }
                }
            }
            Found::Anonymous => Err(unauthorized(cookies)),
            Found::Gone => Err(unauthorized(cookies)),
        }
    }

    /// Better Auth's `setSessionCookie`: the signed token, valid for the session's lifetime
    /// (or a browser-session cookie plus `dont_remember` when "remember me" is off), then the
    /// cookie cache when it is on.
    pub(crate) fn set_session_cookies(
        &self,
        cookies: &mut SetCookies,
        request: &HeaderMap,
        token: &str,
        session: &SessionRow,
        user: &UserRow,
        dont_remember: bool,
    ) {
        let max_age = self.auth.config().session.expires_in.as_secs();
        cookies.extend(
            self.cookies
                .session(self.auth.signer(), token, dont_remember, max_age),
        );
        self.issue_cookie_cache(cookies, request, token, session, user, dont_remember);
    }

    /// Adds the lines that (re)issue the cookie cache for this session, when it is on.
    fn issue_cookie_cache(
        &self,
        cookies: &mut SetCookies,
        request: &HeaderMap,
        token: &str,
        session: &SessionRow,
        user: &UserRow,
        dont_remember: bool,
    ) {
        if let Some(cache) = &self.cookie_cache {
            let value = cache.seal(
                &SessionView::new(session, token),
                &UserView::from(user),
                dont_remember,
                self.auth.now(),
            );
            cache.issue(cookies, &self.cookies, request, &value, dont_remember);
        }
    }
}
