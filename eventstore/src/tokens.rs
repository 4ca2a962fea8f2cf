//! Tokens mailed to users (email verification, password reset, email change).
//!
//! A token is derived from its verification's id under a key kept in the `keys` table:
//! `base64url(HMAC-SHA256(key, verification_id))[..32]`. The log and the read model hold only
//! the id and SHA-256 of the token, never the token; the mailer derives the token again when
//! it sends the mail. Whoever can read the key table can forge tokens, exactly as whoever
//! can read Better Auth's `verification` table can read them; nothing else can.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::unique::load_or_create_key;

const KEY_NAME: &str = "verification_tokens.hmac";
/// Characters kept of the base64url HMAC: 32 characters, 192 bits.
const TOKEN_LEN: usize = 32;

/// Derives mailed tokens from verification ids.
#[derive(Clone)]
pub struct TokenKey {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<key>)")
    }
}

impl TokenKey {
    /// Loads the key, creating it on first start.
    pub async fn load_or_create(db: &Db) -> Result<Self, sqlx::Error> {
        let encoded = load_or_create_key(db, KEY_NAME, || {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            hex::encode(key)
        })
        .await?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(encoded.trim(), &mut key)
            .map_err(|e| sqlx::Error::Decode(format!("bad key {KEY_NAME}: {e}").into()))?;
        Ok(Self { key })
    }

    /// The token of verification `verification_id`.
    pub fn token(&self, verification_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(verification_id.as_bytes());
        let mut token = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        token.truncate(TOKEN_LEN);
        token
    }
}

/// Lower-case hex SHA-256 of a token: how tokens are stored and looked up.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_id_and_url_safe() {
        let key = TokenKey { key: [7; 32] };
        let token = key.token("v1");
        assert_eq!(token, key.token("v1"));
        assert_ne!(token, key.token("v2"));
        assert_eq!(token.len(), 32);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(token_hash("test").len(), 64);
    }
}
