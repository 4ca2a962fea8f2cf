/// Why a user command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("user already exists")]
    AlreadyExists,
    #[error("user not found")]
    NotFound,
    #[error("no fields to update")]
    NoFieldsToUpdate,
    /// The address being verified is no longer the user's.
    #[error("email does not match")]
    EmailMismatch,
    #[error("email is the same")]
    SameEmail,
}
