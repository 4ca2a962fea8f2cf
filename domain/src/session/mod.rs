//! The `Session` aggregate: one signed-in device. The bearer token itself is never part of
//! the domain: only its SHA-256 ([`TokenHash`]) is.

mod command;
mod error;
mod event;
#[cfg(test)]
mod tests;

pub use command::{RefreshPolicy, SessionCommand};
pub use error::SessionError;
pub use event::{RevokeReason, SessionEvent};

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::values::{SessionId, TokenHash, UserId};

/// Folded state of one session stream. `None` until `session.created`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    state: Option<SessionState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub id: SessionId,
    pub user_id: UserId,
    pub token_hash: TokenHash,
    pub expires_at: DateTime<Utc>,
    pub dont_remember: bool,
    pub revoked: bool,
}

impl Session {
    /// A live session rebuilt from a read-model row (see `User::rehydrate` for why that is
    /// sound).
    pub fn rehydrate(state: SessionState) -> Self {
        Self { state: Some(state) }
    }

    pub fn state(&self) -> Option<&SessionState> {
        self.state.as_ref()
    }
}

impl RefreshPolicy {
    /// Better Auth's rule: refresh once `update_age` has passed since the last refresh,
    /// i.e. when `expires_at - expires_in + update_age <= now`. Sessions created with
    /// "remember me" off are never extended.
    pub fn is_due(
        &self,
        expires_at: DateTime<Utc>,
        dont_remember: bool,
        now: DateTime<Utc>,
    ) -> bool {
        !self.disabled && !dont_remember && expires_at - self.expires_in + self.update_age <= now
    }
}

impl Aggregate for Session {
    const TYPE: &'static str = "session";
    type Command = SessionCommand;
    type Event = SessionEvent;
    type Error = SessionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: SessionCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), SessionError> {
        match command {
            SessionCommand::Create {
                session_id,
                user_id,
                token_hash,
                expires_at,
                ip_address,
                user_agent,
                dont_remember,
            } => {
                if self.state.is_some() {
                    return Err(SessionError::AlreadyExists);
                }
                let event = SessionEvent::Created {
                    session_id,
                    user_id,
                    token_hash,
                    expires_at,
                    ip_address,
                    user_agent,
                    dont_remember,
                };
                sink.write(event, self).await;
            }
            SessionCommand::Refresh { now, policy } => {
                let state = self.state.as_ref().ok_or(SessionError::NotFound)?;
                if state.revoked {
                    return Err(SessionError::Revoked);
                }
                if state.expires_at <= now {
                    return Err(SessionError::Expired);
                }
                if policy.is_due(state.expires_at, state.dont_remember, now) {
                    let expires_at = now + policy.expires_in;
                    sink.write(SessionEvent::Refreshed { expires_at }, self)
                        .await;
                }
            }
            SessionCommand::Revoke { reason } => {
                let state = self.state.as_ref().ok_or(SessionError::NotFound)?;
                // Revoking twice is not an error: the caller's intent already holds.
                if !state.revoked {
                    sink.write(SessionEvent::Revoked { reason }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Created {
                session_id,
                user_id,
                token_hash,
                expires_at,
                dont_remember,
                ..
            } => {
                self.state = Some(SessionState {
                    id: session_id,
                    user_id,
                    token_hash,
                    expires_at,
                    dont_remember,
                    revoked: false,
                });
            }
            SessionEvent::Refreshed { expires_at } => {
                if let Some(state) = &mut self.state {
                    state.expires_at = expires_at;
                }
            }
            SessionEvent::Revoked { .. } => {
                if let Some(state) = &mut self.state {
                    state.revoked = true;
                }
            }
        }
    }
}
