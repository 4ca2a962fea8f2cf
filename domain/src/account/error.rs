/// Why an account command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("account already exists")]
    AlreadyExists,
    #[error("account not found")]
    NotFound,
    #[error("credential account not found")]
    NoCredential,
    #[error("invalid password")]
    InvalidPassword,
    #[error(transparent)]
    Saturated(#[from] crate::services::HashingSaturated),
}
