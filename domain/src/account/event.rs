use serde::{Deserialize, Serialize};

use crate::values::{AccountId, PasswordHash, UserId};
use crate::StoredEvent;

/// Facts about an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AccountEvent {
    /// `provider_account_id` is Better Auth's `accountId` (the user id for credentials).
    #[serde(rename = "account.linked")]
    Linked {
        account_id: AccountId,
        user_id: UserId,
        provider_id: String,
        provider_account_id: String,
        password_hash: Option<PasswordHash>,
    },
    #[serde(rename = "account.password_changed")]
    PasswordChanged { password_hash: PasswordHash },
    /// A new password set through a reset link, without the old one.
    #[serde(rename = "account.password_reset")]
    PasswordReset { password_hash: PasswordHash },
    #[serde(rename = "account.unlinked")]
    Unlinked,
}

impl StoredEvent for AccountEvent {
    const AGGREGATE_TYPE: &'static str = "account";

    fn event_type(&self) -> &'static str {
        match self {
            Self::Linked { .. } => "account.linked",
            Self::PasswordChanged { .. } => "account.password_changed",
            Self::PasswordReset { .. } => "account.password_reset",
            Self::Unlinked => "account.unlinked",
        }
    }
}

crate::impl_domain_event!(AccountEvent);
