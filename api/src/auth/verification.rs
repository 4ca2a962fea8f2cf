//! Issuing and redeeming single-use tokens.

use std::time::Duration;

use authlog_domain::values::{Email, TokenHash, UserId};
use authlog_domain::verification::{
    Purpose, Verification, VerificationCommand, VerificationError, VerificationEvent,
    VerificationState,
};
use authlog_eventstore::tokens::token_hash;
use authlog_eventstore::AppendRequest;
use authlog_projections::read::{self, VerificationRow};
use chrono::{DateTime, Utc};

use super::{decide, Auth};
use crate::crypto::random;
use crate::error::{AuthError, ErrorCode};

/// What a new verification is about.
pub(crate) struct Issue<'a> {
    pub(crate) purpose: Purpose,
    pub(crate) user_id: &'a str,
    /// The user's current address (the mail goes there, except for an email change's
    /// verification, which goes to `new_email`).
    pub(crate) email: &'a str,
    pub(crate) new_email: Option<&'a str>,
    pub(crate) callback_url: Option<String>,
    pub(crate) lifetime: Duration,
}

impl Auth {
    /// Decides a new verification and adds it to `request`; the mailer sends it once the
    /// request commits.
    pub(crate) async fn issue(
        &self,
        request: &mut AppendRequest,
        issue: Issue<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let verification_id = random::new_id();
        let token = self.tokens().token(&verification_id);
        let command = VerificationCommand::Issue {
            verification_id: verification_id.clone(),
            purpose: issue.purpose,
            user_id: UserId::new(issue.user_id.to_owned()),
            email: Email::from_stored(issue.email.to_owned()),
            new_email: issue.new_email.map(|e| Email::from_stored(e.to_owned())),
            token_hash: TokenHash::from_hex(token_hash(&token)),
            expires_at: now + chrono::Duration::from_std(issue.lifetime).unwrap_or_default(),
            callback_url: issue.callback_url,
        };
        let events = decide(Verification::default(), command, &())
            .await
            .map_err(|e| AuthError::internal(format!("issuing a verification: {e}")))?;
        request.push::<VerificationEvent>(&verification_id, 0, &events, []);
        Ok(())
    }

    /// The outstanding verification for `token` if it has one of `purposes`. A missing,
    /// used or foreign token is `INVALID_TOKEN`; an expired one `TOKEN_EXPIRED`.
    pub(crate) async fn outstanding(
        &self,
        token: &str,
        purposes: &[Purpose],
    ) -> Result<(VerificationRow, Purpose), AuthError> {
        let row = read::verification_by_token_hash(self.store().db(), &token_hash(token))
            .await?
            .ok_or(AuthError::code(ErrorCode::INVALID_TOKEN))?;
        let purpose = Purpose::parse(&row.purpose)
            .filter(|p| purposes.contains(p))
            .ok_or(AuthError::code(ErrorCode::INVALID_TOKEN))?;
        if row.expires_at <= self.now() {
            return Err(ErrorCode::TOKEN_EXPIRED.into());
        }
        Ok((row, purpose))
    }

    /// Adds the consumption of `row` to `request`. Only one of several concurrent requests
    /// that consume the same token commits: the others find the stream moved and, deciding
    /// again, the token gone.
    pub(crate) async fn consume(
        &self,
        request: &mut AppendRequest,
        row: &VerificationRow,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let aggregate = Verification::rehydrate(VerificationState {
            purpose,
            user_id: UserId::new(row.user_id.clone()),
            email: Email::from_stored(row.email.clone()),
            new_email: row.new_email.clone().map(Email::from_stored),
            expires_at: row.expires_at,
            consumed: false,
        });
        let events = decide(aggregate, VerificationCommand::Consume { now }, &())
            .await
            .map_err(|error| match error {
                VerificationError::Expired => AuthError::code(ErrorCode::TOKEN_EXPIRED),
                _ => AuthError::code(ErrorCode::INVALID_TOKEN),
            })?;
        request.push::<VerificationEvent>(&row.id, row.version, &events, []);
        Ok(())
    }
}
