//! Email + password sign-up.

use authlog_domain::account::{Account, AccountCommand, AccountEvent};
use authlog_domain::user::{User, UserCommand, UserEvent};
use authlog_domain::values::{AccountId, Email, Name, Password, UserId};
use authlog_eventstore::{Actor, AppendRequest};
use authlog_projections::read::{self, UserRow};

use super::{decide, too_much_contention, Auth, NewSession, RequestContext, MAX_ATTEMPTS};
use crate::crypto::random;
use crate::error::{AuthError, ErrorCode};

/// The fields of `POST /sign-up/email`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUpEmail {
    pub name: String,
    pub email: String,
    pub password: String,
    pub image: Option<String>,
    pub remember_me: bool,
}

/// A new user, signed in unless `autoSignIn` is off.
#[derive(Debug, Clone, PartialEq)]
pub struct SignUpOutcome {
    pub user: UserRow,
    pub session: Option<NewSession>,
}

impl Auth {
    /// Creates the user, their credential account and (with `autoSignIn`) a session, in one
    /// append. Two sign-ups of one email race on the unique constraint: exactly one wins,
    /// the other gets `USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL`.
    pub async fn sign_up_email(
        &self,
        input: SignUpEmail,
        context: &RequestContext,
    ) -> Result<SignUpOutcome, AuthError> {
        let settings = self.config().email_and_password;
        if !settings.enabled || settings.disable_sign_up {
            return Err(ErrorCode::EMAIL_PASSWORD_SIGN_UP_DISABLED.into());
        }
        let email = Email::parse(&input.email)?;
        let password = Password::parse(&input.password, settings.password)?;
        // A cheap early answer; the unique constraint below is what actually guarantees it.
        if read::user_by_email(self.store().db(), email.as_str())
            .await?
            .is_some()
        {
            return Err(ErrorCode::USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL.into());
        }
        let password_hash = self.passwords_hash(&password).await?;
        let name = Name::parse(&input.name);

        for _ in 0..MAX_ATTEMPTS {
            let now = self.now();
            let user_id = random::new_id();
            let account_id = random::new_id();
            let user_events = decide(
                User::default(),
                UserCommand::SignUp {
                    user_id: UserId::new(user_id.clone()),
                    email: email.clone(),
                    name: name.clone(),
                    image: input.image.clone(),
                },
                &(),
            )
            .await
            .map_err(|_| AuthError::code(ErrorCode::FAILED_TO_CREATE_USER))?;
            let account_events = decide(
                Account::default(),
                AccountCommand::LinkCredential {
                    account_id: AccountId::new(account_id.clone()),
                    user_id: UserId::new(user_id.clone()),
                    password_hash: password_hash.clone(),
                },
                &authlog_domain::account::AccountServices {
                    passwords: self.hasher(),
                },
            )
            .await
            .map_err(|_| AuthError::code(ErrorCode::FAILED_TO_CREATE_USER))?;

            let mut request = AppendRequest::new(context.metadata(Actor::Anonymous), now);
            let claims = user_events
                .iter()
                .flat_map(UserEvent::unique_claims)
                .collect::<Vec<_>>();
            request.push::<UserEvent>(&user_id, 0, &user_events, claims);
            request.push::<AccountEvent>(&account_id, 0, &account_events, []);
            let session = if settings.auto_sign_in {
                Some(
                    self.open_session(&mut request, &user_id, input.remember_me, context, now)
                        .await?,
                )
            } else {
                None
            };
            if self.append(request).await?.is_some() {
                let user = UserRow {
                    id: user_id,
                    email: email.as_str().to_owned(),
                    name: name.as_str().to_owned(),
                    image: input.image,
                    email_verified: false,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                return Ok(SignUpOutcome { user, session });
            }
        }
        Err(too_much_contention())
    }

    pub(crate) async fn passwords_hash(
        &self,
        password: &Password,
    ) -> Result<authlog_domain::values::PasswordHash, AuthError> {
        use authlog_domain::services::PasswordHasher;
        Ok(self.passwords().hash(password).await?)
    }
}
