//! The `Account` aggregate: one way a user proves who they are. In this crate that is the
//! `credential` account (email + password); OAuth links add other providers later. The
//! password hash lives here, as Better Auth keeps it on the credential account row: a user
//! who only signs in through a provider has no password at all.

mod command;
mod error;
mod event;
#[cfg(test)]
mod tests;

pub use command::AccountCommand;
pub use error::AccountError;
pub use event::AccountEvent;

use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::services::PasswordHasher;
use crate::values::{AccountId, PasswordHash, UserId};

/// The provider id Better Auth gives email + password accounts.
pub const CREDENTIAL_PROVIDER: &str = "credential";

/// Folded state of one account stream. `None` until `account.linked`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    state: Option<AccountState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    pub id: AccountId,
    pub user_id: UserId,
    pub provider_id: String,
    pub password_hash: Option<PasswordHash>,
    pub unlinked: bool,
}

impl Account {
    /// A live account rebuilt from a read-model row (see `User::rehydrate` for why that is
    /// sound).
    pub fn rehydrate(state: AccountState) -> Self {
        Self { state: Some(state) }
    }

    pub fn state(&self) -> Option<&AccountState> {
        self.state.as_ref()
    }
}

/// What the account aggregate needs from outside: a way to hash and check passwords.
#[derive(Clone)]
pub struct AccountServices {
    pub passwords: Arc<dyn PasswordHasher>,
}

impl Aggregate for Account {
    const TYPE: &'static str = "account";
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;
    type Services = AccountServices;

    async fn handle(
        &mut self,
        command: AccountCommand,
        services: &AccountServices,
        sink: &EventSink<Self>,
    ) -> Result<(), AccountError> {
        match command {
            AccountCommand::LinkCredential {
                account_id,
                user_id,
                password_hash,
            } => {
                if self.state.is_some() {
                    return Err(AccountError::AlreadyExists);
                }
                let event = AccountEvent::Linked {
                    account_id,
                    provider_account_id: user_id.as_str().to_owned(),
                    user_id,
                    provider_id: CREDENTIAL_PROVIDER.to_owned(),
                    password_hash: Some(password_hash),
                };
                sink.write(event, self).await;
            }
            AccountCommand::ChangePassword {
                current_password,
                new_password,
            } => {
                let state = self.state.as_ref().filter(|s| !s.unlinked);
                let stored = state
                    .and_then(|s| s.password_hash.as_ref())
                    .ok_or(AccountError::NoCredential)?;
                // Verify before hashing: a wrong current password costs one hash, not two.
                if !services.passwords.verify(&current_password, stored).await? {
                    return Err(AccountError::InvalidPassword);
                }
                let event = AccountEvent::PasswordChanged {
                    password_hash: services.passwords.hash(&new_password).await?,
                };
                sink.write(event, self).await;
            }
            AccountCommand::ResetPassword { new_password } => {
                if self.state.as_ref().is_none_or(|s| s.unlinked) {
                    return Err(AccountError::NotFound);
                }
                let password_hash = services.passwords.hash(&new_password).await?;
                sink.write(AccountEvent::PasswordReset { password_hash }, self)
                    .await;
            }
            AccountCommand::Unlink => {
                let state = self.state.as_ref().ok_or(AccountError::NotFound)?;
                if !state.unlinked {
                    sink.write(AccountEvent::Unlinked, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: AccountEvent) {
        match event {
            AccountEvent::Linked {
                account_id,
                user_id,
                provider_id,
                password_hash,
                ..
            } => {
                self.state = Some(AccountState {
                    id: account_id,
                    user_id,
                    provider_id,
                    password_hash,
                    unlinked: false,
                });
            }
            AccountEvent::PasswordChanged { password_hash }
            | AccountEvent::PasswordReset { password_hash } => {
                if let Some(state) = &mut self.state {
                    state.password_hash = Some(password_hash);
                }
            }
            AccountEvent::Unlinked => {
                if let Some(state) = &mut self.state {
                    state.unlinked = true;
                }
            }
        }
    }
}
