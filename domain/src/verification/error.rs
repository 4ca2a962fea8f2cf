/// Why a verification command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerificationError {
    #[error("verification already exists")]
    AlreadyExists,
    #[error("verification not found")]
    NotFound,
    #[error("verification already used")]
    AlreadyConsumed,
    #[error("verification expired")]
    Expired,
}
