//! Email verification: `/send-verification-email` and `/verify-email`, including the two
//! steps of an email change.

use std::time::Duration;

use authlog_domain::user::{UserCommand, UserError, UserEvent};
use authlog_domain::values::Email;
use authlog_domain::verification::Purpose;
use authlog_eventstore::{Actor, AppendRequest};
use authlog_projections::read::{self, UserRow};

use super::user::user_aggregate;
use super::verification::Issue;
use super::{
    decide, too_much_contention, Auth, CurrentSession, NewSession, RequestContext, MAX_ATTEMPTS,
};
use crate::error::{AuthError, ErrorCode};

/// Without a session, `/send-verification-email` answers no sooner than this whether or not
/// the address exists, as Better Auth does, so timing does not tell.
const ANONYMOUS_FLOOR: Duration = Duration::from_millis(500);

/// What following a verification link did.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEmail {
    /// The user after an email change (Better Auth returns it then, and `null` otherwise).
    pub changed_user: Option<UserRow>,
    /// A session opened by `autoSignInAfterVerification`.
    pub new_session: Option<NewSession>,
}

impl Auth {
    /// Mails a verification link. Anonymous callers get the same answer, no sooner than
    /// half a second, whether or not the address belongs to an unverified user.
    pub async fn send_verification_email(
        &self,
        current: Option<&CurrentSession>,
        email: &str,
        callback_url: Option<String>,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        if !self.config().email_verification.enabled {
            return Err(ErrorCode::VERIFICATION_EMAIL_NOT_ENABLED.into());
        }
        let email = email.to_lowercase();
        match current {
            Some(current) => {
                if current.user.email != email {
                    return Err(ErrorCode::EMAIL_MISMATCH.into());
                }
                if current.user.email_verified {
                    return Err(ErrorCode::EMAIL_ALREADY_VERIFIED.into());
                }
                self.mail_verification(&current.user, callback_url, context)
                    .await
            }
            None => {
                let started = tokio::time::Instant::now();
                let result = match read::user_by_email(self.store().db(), &email).await? {
                    Some(user) if !user.email_verified => {
                        self.mail_verification(&user, callback_url, context).await
                    }
                    _ => Ok(()),
                };
                tokio::time::sleep_until(started + ANONYMOUS_FLOOR).await;
                result
            }
        }
    }

    async fn mail_verification(
        &self,
        user: &UserRow,
        callback_url: Option<String>,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let mut request = AppendRequest::new(context.metadata(Actor::Anonymous), now);
        self.issue(
            &mut request,
            self.verify_email_issue(user, callback_url),
            now,
        )
        .await?;
        self.append(request).await?;
        Ok(())
    }

    pub(crate) fn verify_email_issue<'a>(
        &self,
        user: &'a UserRow,
        callback_url: Option<String>,
    ) -> Issue<'a> {
        Issue {
            purpose: Purpose::VerifyEmail,
            user_id: &user.id,
            email: &user.email,
            new_email: None,
            callback_url,
            lifetime: self.config().email_verification.expires_in,
        }
    }

    /// Follows a link from a verification mail. `current` is the caller's session, if any:
    /// an email-change link only works for the user who asked for the change.
    pub async fn verify_email(
        &self,
        token: &str,
        current: Option<&CurrentSession>,
        context: &RequestContext,
    ) -> Result<VerifiedEmail, AuthError> {
        let result = self.verify_email_unaudited(token, current, context).await;
        self.audited(
            "verify_email",
            current.map(|c| c.user.id.as_str()),
            context,
            result,
        )
        .await
    }

    async fn verify_email_unaudited(
        &self,
        token: &str,
        current: Option<&CurrentSession>,
        context: &RequestContext,
    ) -> Result<VerifiedEmail, AuthError> {
        for _ in 0..MAX_ATTEMPTS {
            let (row, purpose) = self
                .outstanding(
                    token,
                    &[
                        Purpose::VerifyEmail,
                        Purpose::ChangeEmailConfirmation,
                        Purpose::ChangeEmailVerification,
                    ],
                )
                .await?;
            let user = read::user_by_id(self.store().db(), &row.user_id)
                .await?
                .ok_or(AuthError::code(ErrorCode::USER_NOT_FOUND))?;
            // The link is bound to the address it was issued for.
            if user.email != row.email {
                return Err(ErrorCode::INVALID_TOKEN.into());
            }
            if purpose != Purpose::VerifyEmail && current.is_some_and(|c| c.user.id != user.id) {
                return Err(ErrorCode::INVALID_USER.into());
            }
            let now = self.now();
            let mut request = AppendRequest::new(
                context.metadata(Actor::User {
                    id: user.id.clone(),
                }),
                now,
            );
            self.consume(&mut request, &row, purpose, now).await?;
            let mut outcome = VerifiedEmail {
                changed_user: None,
                new_session: None,
            };
            let mut changed = user.clone();
            match purpose {
                Purpose::VerifyEmail => {
                    let email = Email::from_stored(user.email.clone());
                    let events = decide(
                        user_aggregate(&user),
                        UserCommand::VerifyEmail { email },
                        &(),
                    )
                    .await
                    .map_err(|_| AuthError::code(ErrorCode::INVALID_TOKEN))?;
                    request.push::<UserEvent>(&user.id, user.version, &events, []);
                    let signed_in_as_user = current.is_some_and(|c| c.user.id == user.id);
                    if self
                        .config()
                        .email_verification
                        .auto_sign_in_after_verification
                        && !signed_in_as_user
                    {
                        outcome.new_session = Some(
                            self.open_session(&mut request, &user.id, true, context, now)
                                .await?,
                        );
                    }
                }
                Purpose::ChangeEmailConfirmation => {
                    let new_email = row
                        .new_email
                        .as_deref()
                        .ok_or(AuthError::code(ErrorCode::INVALID_TOKEN))?;
                    let issue = Issue {
                        purpose: Purpose::ChangeEmailVerification,
                        user_id: &user.id,
                        email: &user.email,
                        new_email: Some(new_email),
                        callback_url: row.callback_url.clone(),
                        lifetime: self.config().email_verification.expires_in,
                    };
                    self.issue(&mut request, issue, now).await?;
                }
                Purpose::ChangeEmailVerification => {
                    let new_email = row
                        .new_email
                        .clone()
                        .ok_or(AuthError::code(ErrorCode::INVALID_TOKEN))?;
                    // Following a link mailed to the new address proves it is theirs.
                    let command = UserCommand::ChangeEmail {
                        new_email: Email::from_stored(new_email.clone()),
                        verified: true,
                    };
                    let events =
                        decide(user_aggregate(&user), command, &())
                            .await
                            .map_err(|error| match error {
                                UserError::SameEmail => AuthError::code(ErrorCode::INVALID_TOKEN),
                                _ => AuthError::code(ErrorCode::USER_NOT_FOUND),
                            })?;
                    let claims = super::user_claims(&events, &user.id);
                    request.push::<UserEvent>(&user.id, user.version, &events, claims);
                    changed.email = new_email;
                    changed.email_verified = true;
                    changed.updated_at = now;
                    changed.version += 1;
                    outcome.changed_user = Some(changed);
                }
                Purpose::ResetPassword => unreachable!("not accepted by `outstanding` here"),
            }
            if self.append(request).await?.is_some() {
                return Ok(outcome);
            }
        }
        Err(too_much_contention())
    }
}
