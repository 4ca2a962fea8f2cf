//! Crypto adapters: the password hashing pool, random ids and tokens, cookie signatures,
//! and the JWS/JWE shapes of the cookie cache.

pub mod jose;
pub mod password;
pub mod random;
pub mod signing;

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256: how session tokens are stored.
pub fn sha256_hex(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        use std::fmt::Write;
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}
