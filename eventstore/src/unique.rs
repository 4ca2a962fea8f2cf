//! Unique values are stored as HMAC-SHA256 under a key generated once and kept in the
//! `keys` table: the table proves "this email is taken" without holding the email, and the
//! key does not change when the cookie secret is rotated.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::db::Db;
use crate::{with_reader, with_tx};

const KEY_NAME: &str = "unique_constraints.hmac";

/// The key that hashes unique values.
#[derive(Clone)]
pub struct UniqueHasher {
    key: [u8; 32],
}

impl std::fmt::Debug for UniqueHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UniqueHasher(<key>)")
    }
}

impl UniqueHasher {
    /// Loads the key, creating it on first start. Concurrent first starts agree on one key:
    /// the insert is `ON CONFLICT DO NOTHING` and everyone reads back the winner.
    pub async fn load_or_create(db: &Db) -> Result<Self, sqlx::Error> {
        let hex_key = load_or_create_key(db, KEY_NAME, || {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            hex::encode(key)
        })
        .await?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key.trim(), &mut key)
            .map_err(|e| sqlx::Error::Decode(format!("bad key {KEY_NAME}: {e}").into()))?;
        Ok(Self { key })
    }

    /// HMAC of `kind:value`, lower-case hex.
    pub fn hash(&self, kind: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Returns the value of key `name`, storing `generate()` first if there is none.
pub async fn load_or_create_key(
    db: &Db,
    name: &str,
    generate: impl FnOnce() -> String,
) -> Result<String, sqlx::Error> {
    let existing: Option<(String,)> = with_reader!(db, |pool| {
        sqlx::query_as("SELECT value FROM keys WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?
    });
    if let Some((value,)) = existing {
        return Ok(value);
    }
    let mut tx = db.begin().await?;
    let value: String = with_tx!(&mut tx, |conn| {
        sqlx::query(
            "INSERT INTO keys (name, value, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(generate())
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&mut *conn)
        .await?;
        let (value,): (String,) = sqlx::query_as("SELECT value FROM keys WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
        value
    });
    tx.commit().await?;
    Ok(value)
}
