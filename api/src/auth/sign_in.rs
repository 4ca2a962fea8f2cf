//! Email + password sign-in.

use authlog_domain::user::{SignInFailure, User, UserCommand, UserEvent};
use authlog_domain::values::{Email, Password};
use authlog_eventstore::{Actor, AppendRequest};
use authlog_projections::read::{self, UserRow};

use super::hooks::Action;
use super::user::user_aggregate;
use super::{decide, too_much_contention, Auth, NewSession, RequestContext, MAX_ATTEMPTS};
use crate::error::{AuthError, ErrorCode};

/// The fields of `POST /sign-in/email`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInEmail {
    pub email: String,
    pub password: String,
    pub remember_me: bool,
    /// Where a verification mail's link leads, when sign-in sends one.
    pub callback_url: Option<String>,
}

impl Auth {
    /// Checks the password and opens a session. Every failure is the same
    /// `INVALID_EMAIL_OR_PASSWORD` after the same amount of hashing; a failure against an
    /// existing user is recorded on that user's stream.
    pub async fn sign_in_email(
        &self,
        input: SignInEmail,
        context: &RequestContext,
    ) -> Result<(UserRow, NewSession), AuthError> {
        let result = self.sign_in_email_unaudited(input, context).await;
        self.audited("sign_in", None, context, result).await
    }

    async fn sign_in_email_unaudited(
        &self,
        input: SignInEmail,
        context: &RequestContext,
    ) -> Result<(UserRow, NewSession), AuthError> {
        let settings = self.config().email_and_password;
        if !settings.enabled {
            return Err(ErrorCode::EMAIL_PASSWORD_DISABLED.into());
        }
        let email = Email::parse(&input.email)?;
        self.before(Action::SignIn {
            email: email.as_str(),
        })
        .await?;
        let password = Password::candidate(&input.password, settings.password)?;
        let Some((user, credential)) =
            read::user_with_credential(self.store().db(), email.as_str()).await?
        else {
            self.passwords().verify_dummy(&password).await?;
            self.record_failure("sign_in", "unknown_email", None, context)
                .await;
            return Err(ErrorCode::INVALID_EMAIL_OR_PASSWORD.into());
        };
        let verified = match credential.as_ref().and_then(|a| a.password_hash.clone()) {
            Some(hash) => {
                use authlog_domain::services::PasswordHasher;
                let hash = authlog_domain::values::PasswordHash::new(hash);
                self.passwords().verify(&password, &hash).await?
            }
            None => self.passwords().verify_dummy(&password).await?,
        };
        if !verified {
            let reason = if credential.is_some() {
                SignInFailure::InvalidPassword
            } else {
                SignInFailure::NoCredentialAccount
            };
            self.record_failed_sign_in(&user, reason, context).await?;
            return Err(ErrorCode::INVALID_EMAIL_OR_PASSWORD.into());
        }
        if settings.require_email_verification && !user.email_verified {
            if self.config().email_verification.send_on_sign_in {
                let now = self.now();
                let mut request = AppendRequest::new(context.metadata(Actor::Anonymous), now);
                let issue = self.verify_email_issue(&user, input.callback_url.clone());
                self.issue(&mut request, issue, now).await?;
                self.append(request).await?;
            }
            self.record_failed_sign_in(&user, SignInFailure::EmailNotVerified, context)
                .await?;
            return Err(ErrorCode::EMAIL_NOT_VERIFIED.into());
        }
        let now = self.now();
        let mut request = AppendRequest::new(
            context.metadata(Actor::User {
                id: user.id.clone(),
            }),
            now,
        );
        let session = self
            .open_session(&mut request, &user.id, input.remember_me, context, now)
            .await?;
        // A new session stream cannot conflict; a user deleted meanwhile leaves an orphan
        // session that no lookup can reach (lookups join on the user).
        self.append(request).await?;
        Ok((user, session))
    }

    async fn record_failed_sign_in(
        &self,
        user: &UserRow,
        reason: SignInFailure,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let mut user = user.clone();
        for _ in 0..MAX_ATTEMPTS {
            let Ok(events) = decide::<User>(
                user_aggregate(&user),
                UserCommand::RecordFailedSignIn { reason },
                &(),
            )
            .await
            else {
                return Ok(()); // The user is gone; there is no stream to record on.
            };
            let mut request = AppendRequest::new(context.metadata(Actor::Anonymous), self.now());
            request.push::<UserEvent>(&user.id, user.version, &events, []);
            if self.append(request).await?.is_some() {
                return Ok(());
            }
            match read::user_by_id(self.store().db(), &user.id).await? {
                Some(fresh) => user = fresh,
                None => return Ok(()),
            }
        }
        Err(too_much_contention())
    }
}
