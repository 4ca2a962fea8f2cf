//! The caller's linked accounts.

use authlog_projections::read::{self, AccountRow};

use super::{Auth, CurrentSession};
use crate::error::AuthError;

impl Auth {
    /// Every account linked to the caller (credential first), as `/list-accounts` shows them.
    pub async fn list_accounts(
        &self,
        current: &CurrentSession,
    ) -> Result<Vec<AccountRow>, AuthError> {
        Ok(read::accounts_of_user(self.store().db(), &current.user.id).await?)
    }
}
