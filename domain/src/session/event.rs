use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{SessionId, TokenHash, UserId};
use crate::StoredEvent;

/// Facts about a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SessionEvent {
    /// `token_hash` is SHA-256 of the bearer token; the token itself is never stored.
    #[serde(rename = "session.created")]
    Created {
        session_id: SessionId,
        user_id: UserId,
        token_hash: TokenHash,
        expires_at: DateTime<Utc>,
        ip_address: String,
        user_agent: String,
        dont_remember: bool,
    },
    #[serde(rename = "session.refreshed")]
    Refreshed { expires_at: DateTime<Utc> },
    #[serde(rename = "session.revoked")]
    Revoked { reason: RevokeReason },
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// The user signed out of this session.
    SignOut,
    /// The user revoked it from a session list (revoke-session, revoke-sessions, ...).
    Revoked,
    /// A password change with `revokeOtherSessions`.
    PasswordChanged,
    /// The user was deleted.
    UserDeleted,
    /// The password was reset and `revokeSessionsOnPasswordReset` is on.
    PasswordReset,
}

impl StoredEvent for SessionEvent {
    const AGGREGATE_TYPE: &'static str = "session";

    fn event_type(&self) -> &'static str {
        match self {
            Self::Created { .. } => "session.created",
            Self::Refreshed { .. } => "session.refreshed",
            Self::Revoked { .. } => "session.revoked",
        }
    }
}

crate::impl_domain_event!(SessionEvent);
