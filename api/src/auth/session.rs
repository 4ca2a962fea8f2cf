//! Sessions: creation, lookup with Better Auth's refresh rule, listing and revocation.

use authlog_domain::session::{
    RefreshPolicy, RevokeReason, Session, SessionCommand, SessionError, SessionEvent, SessionState,
};
use authlog_domain::values::{SessionId, TokenHash, UserId};
use authlog_eventstore::{Actor, AppendRequest};
use authlog_projections::read::{self, SessionRow, UserRow};
use chrono::{DateTime, Utc};

use super::{decide, too_much_contention, Auth, RequestContext, MAX_ATTEMPTS};
use crate::crypto::{random, sha256_hex};
use crate::error::{AuthError, ErrorCode};

/// A signed-in caller: the session named by their cookie, its user, and the raw token (known
/// only because the caller sent it).
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentSession {
    pub token: String,
    pub session: SessionRow,
    pub user: UserRow,
    /// This lookup extended the session: the cookie must be sent again.
    pub refreshed: bool,
}

/// A session just created, with the token to hand to the client (the only time it exists).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    pub token: String,
    pub session: SessionRow,
}

/// A session in a listing. `token` is the raw token for the caller's own session and an
/// opaque handle (the session id) for the others: the store has no raw tokens, and a handle
/// is enough to revoke a session through `revoke_session`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedSession {
    pub token: String,
    pub session: SessionRow,
}

/// Better Auth's `get-session` query flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionOptions {
    pub disable_refresh: bool,
}

impl Auth {
    pub(crate) fn refresh_policy(&self) -> RefreshPolicy {
        let session = &self.config().session;
        RefreshPolicy {
            expires_in: chrono::Duration::from_std(session.expires_in).unwrap_or_default(),
            update_age: chrono::Duration::from_std(session.update_age).unwrap_or_default(),
            disabled: session.disable_refresh,
        }
    }

    /// Decides a new session for `user_id` and adds it to `request`. The token exists only
    /// in the returned value.
    pub(crate) async fn open_session(
        &self,
        request: &mut AppendRequest,
        user_id: &str,
        remember_me: bool,
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<NewSession, AuthError> {
        let session = &self.config().session;
        let lifetime = if remember_me {
            session.expires_in
        } else {
            session.dont_remember_expires_in
        };
        let token = random::session_token();
        let session_id = random::new_id();
        let expires_at = now + chrono::Duration::from_std(lifetime).unwrap_or_default();
        let command = SessionCommand::Create {
            session_id: SessionId::new(session_id.clone()),
            user_id: UserId::new(user_id.to_owned()),
            token_hash: TokenHash::from_hex(sha256_hex(&token)),
            expires_at,
            ip_address: context.ip_address.clone(),
            user_agent: context.user_agent.clone(),
            dont_remember: !remember_me,
        };
        let events = decide(Session::default(), command, &())
            .await
            .map_err(|_| AuthError::code(ErrorCode::FAILED_TO_CREATE_SESSION))?;
        request.push::<SessionEvent>(&session_id, 0, &events, []);
        let row = SessionRow {
            token_hash: sha256_hex(&token),
            id: session_id,
            user_id: user_id.to_owned(),
            expires_at,
            ip_address: context.ip_address.clone(),
            user_agent: context.user_agent.clone(),
            dont_remember: !remember_me,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        Ok(NewSession {
            token,
            session: row,
        })
    }

    /// The live session named by `token`, refreshed by Better Auth's rule unless
    /// `options.disable_refresh`. `None` for an unknown, revoked or expired session.
    pub async fn session(
        &self,
        token: &str,
        options: SessionOptions,
    ) -> Result<Option<CurrentSession>, AuthError> {
        let token_hash = sha256_hex(token);
        for attempt in 0..MAX_ATTEMPTS {
            // After a lost race, read the database: the cache may not have caught up.
            let cached = if attempt == 0 {
                self.cache().get(&token_hash)
            } else {
                None
            };
            let (session, user) = match cached {
                Some(hit) => hit,
                None => {
                    let generation = self.cache().generation();
                    let Some((session, user)) =
                        read::session_with_user(self.store().db(), &token_hash).await?
                    else {
                        return Ok(None);
                    };
                    self.cache().put(&session, &user, generation);
                    (session, user)
                }
            };
            let now = self.now();
            if session.expires_at <= now {
                return Ok(None);
            }
            let policy = self.refresh_policy();
            if options.disable_refresh
                || !policy.is_due(session.expires_at, session.dont_remember, now)
            {
                return Ok(Some(CurrentSession {
                    token: token.to_owned(),
                    session,
                    user,
                    refreshed: false,
                }));
            }
            let events = match decide(
                session_aggregate(&session),
                SessionCommand::Refresh { now, policy },
                &(),
            )
            .await
            {
                Ok(events) => events,
                Err(SessionError::Expired | SessionError::Revoked | SessionError::NotFound) => {
                    return Ok(None)
                }
                Err(SessionError::AlreadyExists) => unreachable!("refresh never creates"),
            };
            let mut request = AppendRequest::new(
                RequestContext::default().metadata(Actor::User {
                    id: user.id.clone(),
                }),
                now,
            );
            request.push(&session.id, session.version, &events, []);
            if self.append(request).await?.is_some() {
                let mut session = session;
                for event in &events {
                    if let SessionEvent::Refreshed { expires_at } = event {
                        session.expires_at = *expires_at;
                        session.updated_at = now;
                        session.version += 1;
                    }
                }
                return Ok(Some(CurrentSession {
                    token: token.to_owned(),
                    session,
                    user,
                    refreshed: !events.is_empty(),
                }));
            }
            // Another request refreshed or revoked it first: read it again.
        }
        Err(too_much_contention())
    }

    /// Whether the session is young enough for sensitive operations (`session.freshAge`).
    pub fn is_fresh(&self, session: &SessionRow) -> bool {
        let fresh_age = self.config().session.fresh_age;
        fresh_age.is_zero()
            || self.now() - session.created_at
                < chrono::Duration::from_std(fresh_age).unwrap_or_default()
    }

    /// Ends the session named by `token`, if it is live. Signing out twice is not an error.
    pub async fn sign_out(&self, token: &str, context: &RequestContext) -> Result<(), AuthError> {
        let Some((session, user)) =
            read::session_with_user(self.store().db(), &sha256_hex(token)).await?
        else {
            return Ok(());
        };
        self.revoke(&user.id, &[session], RevokeReason::SignOut, context)
            .await
    }

    /// The caller's unexpired sessions, oldest first. Better Auth requires a fresh session.
    pub async fn list_sessions(
        &self,
        current: &CurrentSession,
    ) -> Result<Vec<ListedSession>, AuthError> {
        if !self.is_fresh(&current.session) {
            return Err(ErrorCode::SESSION_NOT_FRESH.into());
        }
        let sessions =
            read::sessions_of_user(self.store().db(), &current.user.id, self.now()).await?;
        Ok(sessions
            .into_iter()
            .map(|session| ListedSession {
                token: if session.id == current.session.id {
                    current.token.clone()
                } else {
                    session.id.clone()
                },
                session,
            })
            .collect())
    }

    /// Revokes one of the caller's sessions, named by its token or by the handle
    /// `list_sessions` gave. Anything else (another user's session, an unknown value) is
    /// silently ignored, as in Better Auth. Returns whether the caller's own session ended.
    pub async fn revoke_session(
        &self,
        current: &CurrentSession,
        token_or_handle: &str,
        context: &RequestContext,
    ) -> Result<bool, AuthError> {
        let sessions = read::all_sessions_of_user(self.store().db(), &current.user.id).await?;
        let hash = sha256_hex(token_or_handle);
        let Some(target) = sessions
            .into_iter()
            .find(|s| s.token_hash == hash || s.id == token_or_handle)
        else {
            return Ok(false);
        };
        let was_current = target.id == current.session.id;
        self.revoke(&current.user.id, &[target], RevokeReason::Revoked, context)
            .await?;
        Ok(was_current)
    }

    /// Revokes every session of the caller, or every one but the current.
    pub async fn revoke_sessions(
        &self,
        current: &CurrentSession,
        keep_current: bool,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let sessions: Vec<SessionRow> =
            read::all_sessions_of_user(self.store().db(), &current.user.id)
                .await?
                .into_iter()
                .filter(|s| !(keep_current && s.id == current.session.id))
                .collect();
        self.revoke(&current.user.id, &sessions, RevokeReason::Revoked, context)
            .await
    }

    /// Appends `session.revoked` for each session, in one transaction. A session that is
    /// already gone is skipped; a session moved by a concurrent request is re-read.
    pub(crate) async fn revoke(
        &self,
        user_id: &str,
        sessions: &[SessionRow],
        reason: RevokeReason,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let mut sessions = sessions.to_vec();
        for _ in 0..MAX_ATTEMPTS {
            if sessions.is_empty() {
                return Ok(());
            }
            let now = self.now();
            let mut request = AppendRequest::new(
                context.metadata(Actor::User {
                    id: user_id.to_owned(),
                }),
                now,
            );
            add_revocations(&mut request, &sessions, reason).await;
            if self.append(request).await?.is_some() {
                return Ok(());
            }
            let live = read::all_sessions_of_user(self.store().db(), user_id).await?;
            sessions.retain(|wanted| live.iter().any(|s| s.id == wanted.id));
            for wanted in &mut sessions {
                if let Some(fresh) = live.iter().find(|s| s.id == wanted.id) {
                    *wanted = fresh.clone();
                }
            }
        }
        Err(too_much_contention())
    }
}

/// Adds a `session.revoked` for each live session to `request`.
pub(crate) async fn add_revocations(
    request: &mut AppendRequest,
    sessions: &[SessionRow],
    reason: RevokeReason,
) {
    for session in sessions {
        if let Ok(events) = decide(
            session_aggregate(session),
            SessionCommand::Revoke { reason },
            &(),
        )
        .await
        {
            request.push(&session.id, session.version, &events, []);
        }
    }
}

/// The session aggregate as its row describes it.
pub(crate) fn session_aggregate(row: &SessionRow) -> Session {
    Session::rehydrate(SessionState {
        id: SessionId::new(row.id.clone()),
        user_id: UserId::new(row.user_id.clone()),
        token_hash: TokenHash::from_hex(row.token_hash.clone()),
        expires_at: row.expires_at,
        dont_remember: row.dont_remember,
        revoked: false,
    })
}
