use crate::values::{Email, Name, UserId};

use super::SignInFailure;

/// What can be asked of a user stream. Inputs are already parsed value types.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    /// Create the user (email + password sign-up; the credential is a separate account).
    SignUp {
        user_id: UserId,
        email: Email,
        name: Name,
        image: Option<String>,
    },
    /// Change the profile. `image: Some(None)` clears the image.
    UpdateProfile {
        name: Option<Name>,
        image: Option<Option<String>>,
    },
    /// Delete the user; its email becomes free again.
    Delete,
    /// Record a refused sign-in against an existing user.
    RecordFailedSignIn { reason: SignInFailure },
    /// Mark `email` verified, if it is still the user's address.
    VerifyEmail { email: Email },
    /// Move to a new address; `verified` says whether the new one is proven already.
    ChangeEmail { new_email: Email, verified: bool },
}
