/// Why a session command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("session already exists")]
    AlreadyExists,
    #[error("session not found")]
    NotFound,
    #[error("session revoked")]
    Revoked,
    #[error("session expired")]
    Expired,
}
