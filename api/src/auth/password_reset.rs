//! Password reset: `/request-password-reset`, `/reset-password/:token`, `/reset-password`.

use std::time::Duration;

use authlog_domain::account::{Account, AccountCommand, AccountEvent, AccountServices};
use authlog_domain::session::RevokeReason;
use authlog_domain::values::{AccountId, Password, UserId};
use authlog_domain::verification::Purpose;
use authlog_eventstore::{Actor, AppendRequest};
use authlog_projections::read;

use super::hooks::Action;
use super::session::add_revocations;
use super::user::account_aggregate;
use super::verification::Issue;
use super::{decide, too_much_contention, Auth, RequestContext, MAX_ATTEMPTS};
use crate::crypto::random;
use crate::error::{AuthError, ErrorCode};

/// `/request-password-reset` answers no sooner than this whether or not the address exists.
const REQUEST_FLOOR: Duration = Duration::from_millis(500);

impl Auth {
    /// Mails a reset link if `email` belongs to a user. The answer and its timing are the
    /// same either way.
    pub async fn request_password_reset(
        &self,
        email: &str,
        redirect_to: Option<String>,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let result = self
            .request_password_reset_unaudited(email, redirect_to, context)
            .await;
        self.audited("request_password_reset", None, context, result)
            .await
    }

    async fn request_password_reset_unaudited(
        &self,
        email: &str,
        redirect_to: Option<String>,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let settings = self.config().email_and_password;
        if !settings.reset_password_enabled {
            return Err(ErrorCode::RESET_PASSWORD_DISABLED.into());
        }
        self.before(Action::RequestPasswordReset { email }).await?;
        let started = tokio::time::Instant::now();
        let result = match read::user_by_email(self.store().db(), &email.to_lowercase()).await? {
            Some(user) => {
                let now = self.now();
                let mut request = AppendRequest::new(context.metadata(Actor::Anonymous), now);
                let issue = Issue {
                    purpose: Purpose::ResetPassword,
                    user_id: &user.id,
                    email: &user.email,
                    new_email: None,
                    callback_url: redirect_to,
                    lifetime: settings.reset_password_token_expires_in,
                };
                self.issue(&mut request, issue, now).await?;
                self.append(request).await.map(|_| ())
            }
            None => Ok(()),
        };
        tokio::time::sleep_until(started + REQUEST_FLOOR).await;
        result
    }

    /// Whether `token` is an outstanding, unexpired reset token (the link's landing check;
    /// it does not use the token up).
    pub async fn reset_token_is_valid(&self, token: &str) -> Result<bool, AuthError> {
        match self.outstanding(token, &[Purpose::ResetPassword]).await {
            Ok(_) => Ok(true),
            Err(AuthError::Internal(cause)) => Err(AuthError::Internal(cause)),
            Err(_) => Ok(false),
        }
    }

    /// Sets a new password with a reset token, which is used up. Of several concurrent
    /// requests with one token exactly one succeeds. A user without a password gets a
    /// credential account.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let result = self
            .reset_password_unaudited(token, new_password, context)
            .await;
        self.audited("reset_password", None, context, result).await
    }

    async fn reset_password_unaudited(
        &self,
        token: &str,
        new_password: &str,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let settings = self.config().email_and_password;
        let new_password = Password::parse(new_password, settings.password)?;
        let invalid = |error: AuthError| match error {
            AuthError::Internal(cause) => AuthError::Internal(cause),
            _ => AuthError::code(ErrorCode::INVALID_TOKEN)
                .with_status(axum::http::StatusCode::BAD_REQUEST),
        };
        let services = AccountServices {
            passwords: self.hasher(),
        };
        for _ in 0..MAX_ATTEMPTS {
            let (row, purpose) = self
                .outstanding(token, &[Purpose::ResetPassword])
                .await
                .map_err(invalid)?;
            let db = self.store().db();
            let user = read::user_by_id(db, &row.user_id)
                .await?
                .ok_or(AuthError::code(ErrorCode::USER_NOT_FOUND))?;
            let now = self.now();
            let mut request = AppendRequest::new(
                context.metadata(Actor::User {
                    id: user.id.clone(),
                }),
                now,
            );
            self.consume(&mut request, &row, purpose, now)
                .await
                .map_err(invalid)?;
            match read::credential_account(db, &user.id).await? {
                Some(account) => {
                    let command = AccountCommand::ResetPassword {
                        new_password: new_password.clone(),
                    };
                    let events = decide(account_aggregate(&account), command, &services)
                        .await
                        .map_err(|e| AuthError::internal(format!("resetting the password: {e}")))?;
                    request.push(&account.id, account.version, &events, []);
                }
                None => {
                    let account_id = random::new_id();
                    let command = AccountCommand::LinkCredential {
                        account_id: AccountId::new(account_id.clone()),
                        user_id: UserId::new(user.id.clone()),
                        password_hash: self.passwords_hash(&new_password).await?,
                    };
                    let events = decide(Account::default(), command, &services)
                        .await
                        .map_err(|e| AuthError::internal(format!("linking a credential: {e}")))?;
                    request.push::<AccountEvent>(&account_id, 0, &events, []);
                }
            }
            if settings.revoke_sessions_on_password_reset {
                let sessions = read::all_sessions_of_user(db, &user.id).await?;
                add_revocations(&mut request, &sessions, RevokeReason::PasswordReset).await;
            }
            if self.append(request).await?.is_some() {
                return Ok(());
            }
        }
        Err(too_much_contention())
    }
}
