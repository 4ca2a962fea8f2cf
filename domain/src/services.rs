//! Work the aggregates need but must not do themselves.

use crate::values::{Password, PasswordHash};

/// Verifies a plaintext password against a stored hash. Implemented in `api` with Argon2id
/// (and Better Auth's scrypt) on a bounded blocking pool; tests use a fake.
#[async_trait::async_trait]
pub trait PasswordVerifier: Send + Sync {
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> bool;
}
