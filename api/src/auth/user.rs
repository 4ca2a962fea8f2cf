//! The signed-in user's own profile, password and account deletion.

use authlog_domain::account::{
    Account, AccountCommand, AccountError, AccountServices, AccountState,
};
use authlog_domain::session::RevokeReason;
use authlog_domain::user::{User, UserCommand, UserError, UserEvent, UserState};
use authlog_domain::values::{AccountId, Email, Name, Password, PasswordHash, UserId};
use authlog_eventstore::{Actor, AppendRequest};
use authlog_projections::read::{self, AccountRow, UserRow};
use axum::http::StatusCode;

use super::hooks::Action;
use super::session::add_revocations;
use super::{
    decide, too_much_contention, Auth, CurrentSession, NewSession, RequestContext, MAX_ATTEMPTS,
};
use crate::error::{AuthError, ErrorCode};

/// What `POST /update-user` may change. `image: Some(None)` clears the image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub name: Option<String>,
    pub image: Option<Option<String>>,
}

/// The fields of `POST /change-password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
    pub revoke_other_sessions: bool,
}

impl Auth {
    /// Updates the caller's profile and returns the user as it now is.
    pub async fn update_user(
        &self,
        current: &CurrentSession,
        changes: ProfileChanges,
        context: &RequestContext,
    ) -> Result<UserRow, AuthError> {
        let result = self.update_user_unaudited(current, changes, context).await;
        self.audited("update_user", Some(&current.user.id), context, result)
            .await
    }

    async fn update_user_unaudited(
        &self,
        current: &CurrentSession,
        changes: ProfileChanges,
        context: &RequestContext,
    ) -> Result<UserRow, AuthError> {
        self.before(Action::UpdateUser {
            user_id: &current.user.id,
        })
        .await?;
        let mut user = current.user.clone();
        for _ in 0..MAX_ATTEMPTS {
            let command = UserCommand::UpdateProfile {
                name: changes.name.as_deref().map(Name::parse),
                image: changes.image.clone(),
            };
            let events = decide(user_aggregate(&user), command, &())
                .await
                .map_err(|error| match error {
                    UserError::NoFieldsToUpdate => {
                        AuthError::message_only(StatusCode::BAD_REQUEST, "No fields to update")
                    }
                    _ => AuthError::code(ErrorCode::USER_NOT_FOUND),
                })?;
            let now = self.now();
            let mut request = AppendRequest::new(
                context.metadata(Actor::User {
                    id: user.id.clone(),
                }),
                now,
            );
            request.push::<UserEvent>(&user.id, user.version, &events, []);
            if self.append(request).await?.is_some() {
                if let Some(name) = &changes.name {
                    user.name.clone_from(name);
                }
                if let Some(image) = &changes.image {
                    user.image.clone_from(image);
                }
                user.updated_at = now;
                user.version += events.len() as i64;
                return Ok(user);
            }
            user = read::user_by_id(self.store().db(), &user.id)
                .await?
                .ok_or(AuthError::code(ErrorCode::USER_NOT_FOUND))?;
        }
        Err(too_much_contention())
    }

    /// Changes the caller's password after checking the current one. With
    /// `revoke_other_sessions`, every session (the current one too) ends and a new one is
    /// returned, as Better Auth does.
    pub async fn change_password(
        &self,
        current: &CurrentSession,
        input: ChangePassword,
        context: &RequestContext,
    ) -> Result<Option<NewSession>, AuthError> {
        let result = self
            .change_password_unaudited(current, input, context)
            .await;
        self.audited("change_password", Some(&current.user.id), context, result)
            .await
    }

    async fn change_password_unaudited(
        &self,
        current: &CurrentSession,
        input: ChangePassword,
        context: &RequestContext,
    ) -> Result<Option<NewSession>, AuthError> {
        let policy = self.config().email_and_password.password;
        let new_password = Password::parse(&input.new_password, policy)?;
        self.before(Action::ChangePassword {
            user_id: &current.user.id,
        })
        .await?;
        // An over-long "current" password cannot be right; refuse it without hashing.
        let current_password = Password::candidate(&input.current_password, policy)
            .map_err(|_| AuthError::code(ErrorCode::INVALID_PASSWORD))?;
        let services = AccountServices {
            passwords: self.hasher(),
        };
        let user = &current.user;
        for _ in 0..MAX_ATTEMPTS {
            let db = self.store().db();
            let account = read::credential_account(db, &user.id)
                .await?
                .ok_or(AuthError::code(ErrorCode::CREDENTIAL_ACCOUNT_NOT_FOUND))?;
            let command = AccountCommand::ChangePassword {
                current_password: current_password.clone(),
                new_password: new_password.clone(),
            };
            let events = decide(account_aggregate(&account), command, &services)
                .await
                .map_err(account_error)?;
            let now = self.now();
            let mut request = AppendRequest::new(
                context.metadata(Actor::User {
                    id: user.id.clone(),
                }),
                now,
            );
            request.push(&account.id, account.version, &events, []);
            let session = if input.revoke_other_sessions {
                let sessions = read::all_sessions_of_user(db, &user.id).await?;
                add_revocations(&mut request, &sessions, RevokeReason::PasswordChanged).await;
                Some(
                    self.open_session(&mut request, &user.id, true, context, now)
                        .await?,
                )
            } else {
                None
            };
            if self.append(request).await?.is_some() {
                return Ok(session);
            }
        }
        Err(too_much_contention())
    }

    /// Deletes the caller. With a password it must match; without one the session must be
    /// fresh. Every session ends and every account is unlinked in the same append.
    pub async fn delete_user(
        &self,
        current: &CurrentSession,
        password: Option<String>,
        token: Option<String>,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        let result = self
            .delete_user_unaudited(current, password, token, context)
            .await;
        self.audited("delete_user", Some(&current.user.id), context, result)
            .await
    }

    async fn delete_user_unaudited(
        &self,
        current: &CurrentSession,
        password: Option<String>,
        token: Option<String>,
        context: &RequestContext,
    ) -> Result<(), AuthError> {
        if !self.config().delete_user_enabled {
            return Err(AuthError::Empty(StatusCode::NOT_FOUND));
        }
        self.before(Action::DeleteUser {
            user_id: &current.user.id,
        })
        .await?;
        if token.is_some() {
            // No deletion-by-email flow is configured, so no token can be valid.
            return Err(ErrorCode::INVALID_TOKEN.into());
        }
        let db = self.store().db();
        // Better Auth treats an empty password as none.
        match password.filter(|p| !p.is_empty()) {
            Some(password) => {
                use authlog_domain::services::PasswordHasher;
                let account = read::credential_account(db, &current.user.id)
                    .await?
                    .ok_or(AuthError::code(ErrorCode::CREDENTIAL_ACCOUNT_NOT_FOUND))?;
                let policy = self.config().email_and_password.password;
                let candidate = Password::candidate(&password, policy)
                    .map_err(|_| AuthError::code(ErrorCode::INVALID_PASSWORD))?;
                let hash = PasswordHash::new(account.password_hash.unwrap_or_default());
                if !self.passwords().verify(&candidate, &hash).await? {
                    return Err(ErrorCode::INVALID_PASSWORD.into());
                }
            }
            None if !self.is_fresh(&current.session) => {
                return Err(ErrorCode::SESSION_EXPIRED.into())
            }
            None => {}
        }
        let mut user = current.user.clone();
        for _ in 0..MAX_ATTEMPTS {
            let Ok(user_events) = decide(user_aggregate(&user), UserCommand::Delete, &()).await
            else {
                return Ok(()); // Deleted meanwhile.
            };
            let now = self.now();
            let mut request = AppendRequest::new(
                context.metadata(Actor::User {
                    id: user.id.clone(),
                }),
                now,
            );
            let claims = super::user_claims(&user_events, &user.id);
            request.push(&user.id, user.version, &user_events, claims);
            let sessions = read::all_sessions_of_user(db, &user.id).await?;
            add_revocations(&mut request, &sessions, RevokeReason::UserDeleted).await;
            let services = AccountServices {
                passwords: self.hasher(),
            };
            for account in read::accounts_of_user(db, &user.id).await? {
                if let Ok(events) = decide(
                    account_aggregate(&account),
                    AccountCommand::Unlink,
                    &services,
                )
                .await
                {
                    request.push(&account.id, account.version, &events, []);
                }
            }
            if self.append(request).await?.is_some() {
                return Ok(());
            }
            match read::user_by_id(db, &user.id).await? {
                Some(fresh) => user = fresh,
                None => return Ok(()),
            }
        }
        Err(too_much_contention())
    }
}

fn account_error(error: AccountError) -> AuthError {
    match error {
        AccountError::InvalidPassword => ErrorCode::INVALID_PASSWORD.into(),
        AccountError::NoCredential | AccountError::NotFound => {
            ErrorCode::CREDENTIAL_ACCOUNT_NOT_FOUND.into()
        }
        AccountError::Saturated(saturated) => saturated.into(),
        AccountError::AlreadyExists => AuthError::internal("account already exists"),
    }
}

/// The user aggregate as its row describes it.
pub(crate) fn user_aggregate(row: &UserRow) -> User {
    User::rehydrate(UserState {
        id: UserId::new(row.id.clone()),
        email: Email::from_stored(row.email.clone()),
        name: Name::parse(&row.name),
        image: row.image.clone(),
        email_verified: row.email_verified,
        deleted: false,
    })
}

/// The account aggregate as its row describes it.
pub(crate) fn account_aggregate(row: &AccountRow) -> Account {
    Account::rehydrate(AccountState {
        id: AccountId::new(row.id.clone()),
        user_id: UserId::new(row.user_id.clone()),
        provider_id: row.provider_id.clone(),
        password_hash: row.password_hash.clone().map(PasswordHash::new),
        unlinked: false,
    })
}
