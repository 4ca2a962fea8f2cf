//! Email + password sign-up.

use authlog_domain::account::{Account, AccountCommand, AccountEvent};
use authlog_domain::user::{User, UserCommand, UserEvent};
use authlog_domain::values::{AccountId, Email, Name, Password, UserId};
use authlog_eventstore::{Actor, AppendRequest};
use authlog_projections::read::{self, UserRow};

use super::hooks::Action;
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
    /// Where the verification mail's link leads, when one is sent.
    pub callback_url: Option<String>,
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
        let result = self.sign_up_email_unaudited(input, context).await;
        self.audited("sign_up", None, context, result).await
    }

    async fn sign_up_email_unaudited(
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
        self.before(Action::SignUp {
            email: email.as_str(),
            name: &input.name,
        })
        .await?;
        // With verification required (or no automatic sign-in) Better Auth hides whether an
        // address is registered: a taken one gets a made-up user, after the same hashing.
        let hide_duplicates = settings.require_email_verification || !settings.auto_sign_in;
        let sign_in = settings.auto_sign_in && !settings.require_email_verification;
        let verification = self.config().email_verification;
        let send_verification = verification.enabled
            && verification
                .send_on_sign_up
                .unwrap_or(settings.require_email_verification);
        let name = Name::parse(&input.name);
        let duplicate = |user: UserRow| -> Result<SignUpOutcome, AuthError> {
            if hide_duplicates {
                Ok(SignUpOutcome {
                    user,
                    session: None,
                })
            } else {
                Err(ErrorCode::USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL.into())
            }
        };
        // A cheap early answer; the unique constraint below is what actually guarantees it.
        if let Some(existing) = read::user_by_email(self.store().db(), email.as_str()).await? {
            self.record_failure("sign_up", "email_taken", Some(&existing.id), context)
                .await;
            if hide_duplicates {
                self.passwords_hash(&password).await?;
            }
            return duplicate(new_user_row(
                random::new_id(),
                &email,
                &name,
                input.image,
                self.now(),
            ));
        }
        let password_hash = self.passwords_hash(&password).await?;

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
            let claims = super::user_claims(&user_events, &user_id);
            request.push::<UserEvent>(&user_id, 0, &user_events, claims);
            request.push::<AccountEvent>(&account_id, 0, &account_events, []);
            let user = new_user_row(user_id.clone(), &email, &name, input.image.clone(), now);
            if send_verification {
                let issue = self.verify_email_issue(&user, input.callback_url.clone());
                self.issue(&mut request, issue, now).await?;
            }
            let session = if sign_in {
                Some(
                    self.open_session(&mut request, &user_id, input.remember_me, context, now)
                        .await?,
                )
            } else {
                None
            };
            match self.append(request).await {
                Ok(Some(_)) => return Ok(SignUpOutcome { user, session }),
                Ok(None) => {}
                // Lost the race for the address to a concurrent sign-up.
                Err(AuthError::Api {
                    code: ErrorCode::USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL,
                    ..
                }) => return duplicate(user),
                Err(error) => return Err(error),
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

/// The row a new user gets (also the made-up user of a hidden duplicate).
fn new_user_row(
    id: String,
    email: &Email,
    name: &Name,
    image: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> UserRow {
    UserRow {
        id,
        email: email.as_str().to_owned(),
        name: name.as_str().to_owned(),
        image,
        email_verified: false,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}
