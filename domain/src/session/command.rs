use chrono::{DateTime, Duration, Utc};

use crate::values::{SessionId, TokenHash, UserId};

use super::RevokeReason;

/// What can be asked of a session stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionCommand {
    Create {
        session_id: SessionId,
        user_id: UserId,
        token_hash: TokenHash,
        expires_at: DateTime<Utc>,
        ip_address: String,
        user_agent: String,
        dont_remember: bool,
    },
    /// Extend the session if the refresh rule says it is due (no event otherwise).
    Refresh {
        now: DateTime<Utc>,
        policy: RefreshPolicy,
    },
    Revoke {
        reason: RevokeReason,
    },
}

/// Better Auth's `session.expiresIn`, `session.updateAge` and `disableSessionRefresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    pub expires_in: Duration,
    pub update_age: Duration,
    pub disabled: bool,
}
