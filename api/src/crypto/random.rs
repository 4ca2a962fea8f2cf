//! Random ids and tokens from the OS CSPRNG, in Better Auth's alphabets.

use rand::rngs::OsRng;
use rand::RngCore;

const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// `length` characters of `[A-Za-z0-9]`, unbiased (rejection sampling), as Better Auth's
/// `generateId`: user, session and account ids, and session tokens.
pub fn alphanumeric(length: usize) -> String {
    // 248 = 4 * 62: bytes at or above it would favour the first characters.
    const LIMIT: u8 = (256 / ALPHANUMERIC.len() * ALPHANUMERIC.len()) as u8;
    let mut out = String::with_capacity(length);
    let mut buffer = [0u8; 64];
    while out.len() < length {
        OsRng.fill_bytes(&mut buffer);
        for &byte in &buffer {
            if byte < LIMIT && out.len() < length {
                out.push(ALPHANUMERIC[usize::from(byte) % ALPHANUMERIC.len()] as char);
            }
        }
    }
    out
}

/// A new row id (32 characters).
pub fn new_id() -> String {
    alphanumeric(32)
}

/// A new session token (32 characters).
pub fn session_token() -> String {
    alphanumeric(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_requested_shape() {
        let id = alphanumeric(32);
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(alphanumeric(32), id);
    }
}
