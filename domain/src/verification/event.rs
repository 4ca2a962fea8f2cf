use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{Email, TokenHash, UserId};
use crate::StoredEvent;

/// Facts about a verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum VerificationEvent {
    /// A token was issued; the mailer sends it. `token_hash` is SHA-256 of the token.
    #[serde(rename = "verification.issued")]
    Issued {
        verification_id: String,
        purpose: Purpose,
        user_id: UserId,
        email: Email,
        new_email: Option<Email>,
        token_hash: TokenHash,
        expires_at: DateTime<Utc>,
        callback_url: Option<String>,
    },
    #[serde(rename = "verification.consumed")]
    Consumed,
}

/// What a verification token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Prove the user owns their email.
    VerifyEmail,
    /// Set a new password without the old one.
    ResetPassword,
    /// Mailed to the current address: approve moving to `new_email`.
    ChangeEmailConfirmation,
    /// Mailed to the new address: prove it is theirs; using it changes the email.
    ChangeEmailVerification,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmailConfirmation => "change_email_confirmation",
            Self::ChangeEmailVerification => "change_email_verification",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::VerifyEmail,
            Self::ResetPassword,
            Self::ChangeEmailConfirmation,
            Self::ChangeEmailVerification,
        ]
        .into_iter()
        .find(|purpose| purpose.as_str() == text)
    }
}

impl StoredEvent for VerificationEvent {
    const AGGREGATE_TYPE: &'static str = "verification";

    fn event_type(&self) -> &'static str {
        match self {
            Self::Issued { .. } => "verification.issued",
            Self::Consumed => "verification.consumed",
        }
    }
}

crate::impl_domain_event!(VerificationEvent);
