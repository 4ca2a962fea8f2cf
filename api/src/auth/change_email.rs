//! `/change-email`: the flows Better Auth offers, chosen by configuration and by whether the
//! current address is verified.

use authlog_domain::user::{UserCommand, UserEvent};
use authlog_domain::values::Email;
use authlog_domain::verification::Purpose;
use authlog_eventstore::{Actor, AppendRequest};
use authlog_projections::read::{self, UserRow};
use axum::http::StatusCode;

use super::hooks::Action;
use super::user::user_aggregate;
use super::verification::Issue;
use super::{decide, Auth, CurrentSession, RequestContext};
use crate::error::{AuthError, ErrorCode};

impl Auth {
    /// Starts (or, for an unverified user when allowed, makes) an email change. Returns the
    /// user when the address changed at once. An address that belongs to someone else gets
    /// the same answer and no mail, so the endpoint does not reveal who is registered.
    pub async fn change_email(
        &self,
        current: &CurrentSession,
        new_email: &str,
        callback_url: Option<String>,
        context: &RequestContext,
    ) -> Result<Option<UserRow>, AuthError> {
        let result = self
            .change_email_unaudited(current, new_email, callback_url, context)
            .await;
        self.audited("change_email", Some(&current.user.id), context, result)
            .await
    }

    async fn change_email_unaudited(
        &self,
        current: &CurrentSession,
        new_email: &str,
        callback_url: Option<String>,
        context: &RequestContext,
    ) -> Result<Option<UserRow>, AuthError> {
        let settings = self.config().change_email;
        if !settings.enabled {
            return Err(ErrorCode::CHANGE_EMAIL_DISABLED.into());
        }
        let new_email = Email::parse(new_email)?;
        self.before(Action::ChangeEmail {
            user_id: &current.user.id,
            new_email: new_email.as_str(),
        })
        .await?;
        let user = &current.user;
        if new_email.as_str() == user.email {
            return Err(AuthError::message_only(
                StatusCode::BAD_REQUEST,
                "Email is the same",
            ));
        }
        let can_mail = self.config().email_verification.enabled;
        let update_at_once = !user.email_verified && settings.update_email_without_verification;
        let confirm_first =
            can_mail && user.email_verified && settings.send_change_email_confirmation;
        if !update_at_once && !can_mail {
            return Err(AuthError::message_only(
                StatusCode::BAD_REQUEST,
                "Verification email isn't enabled",
            ));
        }
        if read::user_by_email(self.store().db(), new_email.as_str())
            .await?
            .is_some()
        {
            // Answered like a success (no enumeration), but audited.
            self.record_failure("change_email", "email_taken", Some(&user.id), context)
                .await;
            return Ok(None);
        }
        let now = self.now();
        let mut request = AppendRequest::new(
            context.metadata(Actor::User {
                id: user.id.clone(),
            }),
            now,
        );
        let lifetime = self.config().email_verification.expires_in;
        if update_at_once {
            let command = UserCommand::ChangeEmail {
                new_email: new_email.clone(),
                verified: false,
            };
            let events = decide(user_aggregate(user), command, &())
                .await
                .map_err(|_| AuthError::code(ErrorCode::USER_NOT_FOUND))?;
            let claims = super::user_claims(&events, &user.id);
            request.push::<UserEvent>(&user.id, user.version, &events, claims);
            let mut changed = user.clone();
            changed.email = new_email.as_str().to_owned();
            changed.email_verified = false;
            changed.updated_at = now;
            changed.version += 1;
            if can_mail {
                let issue = Issue {
                    purpose: Purpose::VerifyEmail,
                    user_id: &user.id,
                    email: new_email.as_str(),
                    new_email: None,
                    callback_url,
                    lifetime,
                };
                self.issue(&mut request, issue, now).await?;
            }
            // A concurrent change of the same user makes this one fail rather than retry:
            // the caller asked for a change from the address they saw.
            self.append(request)
                .await?
                .ok_or(AuthError::internal("the user changed meanwhile"))?;
            return Ok(Some(changed));
        }
        let purpose = if confirm_first {
            Purpose::ChangeEmailConfirmation
        } else {
            Purpose::ChangeEmailVerification
        };
        let issue = Issue {
            purpose,
            user_id: &user.id,
            email: &user.email,
            new_email: Some(new_email.as_str()),
            callback_url,
            lifetime,
        };
        self.issue(&mut request, issue, now).await?;
        self.append(request).await?;
        Ok(None)
    }
}
