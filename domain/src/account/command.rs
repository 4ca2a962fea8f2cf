use crate::values::{AccountId, Password, PasswordHash, UserId};

/// What can be asked of an account stream.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountCommand {
    /// Create the email + password account of a user (its `accountId` is the user id).
    LinkCredential {
        account_id: AccountId,
        user_id: UserId,
        password_hash: PasswordHash,
    },
    /// Replace the password after checking the current one.
    ChangePassword {
        current_password: Password,
        new_password: Password,
    },
    /// Set a new password without the old one (the caller proved ownership of the email).
    ResetPassword {
        new_password: Password,
    },
    Unlink,
}
