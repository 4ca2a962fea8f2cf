//! Work the aggregates need but must not do themselves.

use crate::values::{Password, PasswordHash};

/// The password hashing pool has no room for more work right now (HTTP 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is saturated")]
pub struct HashingSaturated;

/// Hashes and verifies passwords. Implemented in `api` with Argon2id (and Better Auth's
/// scrypt for imported hashes) on a bounded blocking pool; tests use a fake.
#[async_trait::async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingSaturated>;
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<bool, HashingSaturated>;
}
