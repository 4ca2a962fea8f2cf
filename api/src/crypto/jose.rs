//! The two JOSE shapes Better Auth seals cookies with, written as the `jose` library writes
//! them (contract 3.4): an HS256 JWS keyed by the secret, and a compact JWE with direct
//! encryption (`alg: dir`, `enc: A256CBC-HS512`, RFC 7518 5.2.5) under a key derived from the
//! secret with HKDF. Only what the cookie cache needs: compact serialization, JSON object
//! claims, the `exp` check.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

type HmacSha256 = Hmac<Sha256>;
type HmacSha512 = Hmac<Sha512>;
type Aes256CbcEncryptor = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDecryptor = cbc::Decryptor<aes::Aes256>;

/// JSON claims, keys in insertion order.
pub type Claims = Map<String, Value>;

/// Better Auth's HKDF `info` for every key it derives from the secret.
const HKDF_INFO: &[u8] = b"BetterAuth.js Generated Encryption Key";

/// `base64url({"alg":"HS256"})`, the only header Better Auth signs cookie JWTs with.
const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiJ9";

/// HS256 JWTs keyed by the UTF-8 bytes of the secret (`jose`'s `SignJWT` / `jwtVerify`).
#[derive(Clone)]
pub struct Hs256 {
    mac: HmacSha256,
}

impl Hs256 {
    pub fn new(secret: &str) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key"),
        }
    }

    /// `header.claims.signature`, with the header `{"alg":"HS256"}`.
    pub fn sign(&self, claims: &Claims) -> String {
        let claims = URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string());
        let signing_input = format!("{HS256_HEADER}.{claims}");
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The claims of a token whose signature holds and whose `exp` is still ahead of
    /// `now_secs` (no clock tolerance, as `jwtVerify` by default).
    pub fn verify(&self, token: &str, now_secs: i64) -> Option<Claims> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (header, claims) = signing_input.split_once('.')?;
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg")?.as_str()? != "HS256" || header.get("crit").is_some() {
            return None;
        }
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
            .ok()?;
        let claims = parse_claims(&URL_SAFE_NO_PAD.decode(claims).ok()?)?;
        is_unexpired(&claims, now_secs, 0).then_some(claims)
    }
}

impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256(<secret>)")
    }
}

/// JWE compact serialization with `alg: dir`, `enc: A256CBC-HS512` (`jose`'s `EncryptJWT` /
/// `jwtDecrypt`), under `HKDF-SHA256(secret, salt, HKDF_INFO)`.
#[derive(Clone)]
pub struct DirectEncryption {
    /// The first half authenticates (HMAC-SHA-512), the second encrypts (AES-256-CBC).
    key: [u8; 64],
    /// The key's RFC 7638 thumbprint: Better Auth picks the decryption secret by it.
    kid: String,
    /// `base64url` of the protected header, which is also the additional authenticated data.
    header: String,
}

impl DirectEncryption {
    /// The key Better Auth derives for `salt` (`"better-auth-session"` for the cookie cache).
    pub fn derive(secret: &str, salt: &str) -> Self {
        let mut key = [0u8; 64];
        Hkdf::<Sha256>::new(Some(salt.as_bytes()), secret.as_bytes())
            .expand(HKDF_INFO, &mut key)
            .expect("64 bytes is a valid HKDF-SHA256 length");
        // RFC 7638: the required members of an "oct" JWK, in lexicographic order.
        let jwk = format!(r#"{{"k":"{}","kty":"oct"}}"#, URL_SAFE_NO_PAD.encode(key));
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()));
        let header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"dir","enc":"A256CBC-HS512","kid":"{kid}"}}"#
        ));
        Self { key, kid, header }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `header..iv.ciphertext.tag` (the encrypted key is empty with direct encryption).
    pub fn encrypt(&self, claims: &Claims) -> String {
        let mut iv = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut iv);
        let plaintext = Value::Object(claims.clone()).to_string();
        let ciphertext = Aes256CbcEncryptor::new(self.key[32..].into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
        let tag = self.tag(&iv, &ciphertext);
        format!(
            "{}..{}.{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(iv),
            URL_SAFE_NO_PAD.encode(&ciphertext),
            URL_SAFE_NO_PAD.encode(tag),
        )
    }

    /// The claims of a token sealed under this key whose `exp` has not passed, allowing the
    /// 15 seconds of clock tolerance Better Auth decrypts with.
    pub fn decrypt(&self, token: &str, now_secs: i64) -> Option<Claims> {
        let mut parts = token.split('.');
        let (header, encrypted_key, iv, ciphertext, tag) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if parts.next().is_some() || !encrypted_key.is_empty() {
            return None;
        }
        let fields: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        let kid_matches = fields
            .get("kid")
            .is_none_or(|kid| kid.as_str() == Some(&self.kid));
        if fields.get("alg")?.as_str()? != "dir"
            || fields.get("enc")?.as_str()? != "A256CBC-HS512"
            || fields.get("zip").is_some()
            || fields.get("crit").is_some()
            || !kid_matches
        {
            return None;
        }
        let iv: [u8; 16] = URL_SAFE_NO_PAD.decode(iv).ok()?.try_into().ok()?;
        let ciphertext = URL_SAFE_NO_PAD.decode(ciphertext).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // The tag covers the header exactly as sent, which need not be ours byte for byte.
        if tag.len() != 32 {
            return None;
        }
        self.mac_over(header, &iv, &ciphertext)
            .verify_truncated_left(&tag)
            .ok()?;
        let plaintext = Aes256CbcDecryptor::new(self.key[32..].into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&ciphertext)
            .ok()?;
        let claims = parse_claims(&plaintext)?;
        is_unexpired(&claims, now_secs, 15).then_some(claims)
    }

    /// The first 32 bytes of HMAC-SHA-512 over `AAD || IV || ciphertext || AL` (RFC 7518
    /// 5.2.2.1), AL being the AAD's length in bits as a big-endian u64.
    fn tag(&self, iv: &[u8; 16], ciphertext: &[u8]) -> Vec<u8> {
        let mac = self.mac_over(&self.header, iv, ciphertext);
        mac.finalize().into_bytes()[..32].to_vec()
    }

    fn mac_over(&self, header: &str, iv: &[u8], ciphertext: &[u8]) -> HmacSha512 {
        let mut mac =
            HmacSha512::new_from_slice(&self.key[..32]).expect("HMAC takes any key length");
        mac.update(header.as_bytes());
        mac.update(iv);
        mac.update(ciphertext);
        mac.update(&(header.len() as u64 * 8).to_be_bytes());
        mac
    }
}

impl std::fmt::Debug for DirectEncryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectEncryption")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A JSON object whose registered time claims, when present, are numbers.
fn parse_claims(bytes: &[u8]) -> Option<Claims> {
    let Value::Object(claims) = serde_json::from_slice(bytes).ok()? else {
        return None;
    };
    let numeric_or_absent = |name: &str| claims.get(name).is_none_or(Value::is_number);
    (numeric_or_absent("exp") && numeric_or_absent("iat") && numeric_or_absent("nbf"))
        .then_some(claims)
}

/// `jose`'s rule: a token is expired once `exp <= now - tolerance`. Cookie-cache tokens
/// always carry `exp`, so one without it is refused.
fn is_unexpired(claims: &Claims, now_secs: i64, tolerance_secs: i64) -> bool {
    let before_not_before = claims
        .get("nbf")
        .and_then(Value::as_f64)
        .is_some_and(|nbf| nbf > (now_secs + tolerance_secs) as f64);
    let expired = claims
        .get("exp")
        .and_then(Value::as_f64)
        .is_none_or(|exp| exp <= (now_secs - tolerance_secs) as f64);
    !expired && !before_not_before
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "test-secret-test-secret-test-secret-0123";

    fn claims(exp: i64) -> Claims {
        let Value::Object(claims) = json!({"a": "é\n", "iat": exp - 300, "exp": exp}) else {
            unreachable!()
        };
        claims
    }

    /// Values computed with Better Auth's own `deriveEncryptionSecret` and `jose`'s
    /// `calculateJwkThumbprint` for this secret.
    #[test]
    fn the_derived_key_id_matches_better_auth() {
        let jwe = DirectEncryption::derive(SECRET, "better-auth-session");
        assert_eq!(jwe.kid(), "J0BhjQWQUXfBlNjBk6tLadMsfHTYoQDmzXiX93T9dfs");
    }

    /// A token made by `jose`'s `SignJWT` with this secret (exp 4102444800, 2100-01-01).
    #[test]
    fn jose_hs256_tokens_verify() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJhIjoiw6lcbiIsImlhdCI6NDEwMjQ0NDUwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.SGcTN1C7jK0eFr75-YpGXnSpOS063nUijomU5NU4J6I";
        let jwt = Hs256::new(SECRET);
        assert_eq!(
            jwt.verify(token, 1_800_000_000),
            Some(claims(4_102_444_800))
        );
        assert_eq!(jwt.sign(&claims(4_102_444_800)), token);
        assert_eq!(jwt.verify(token, 4_102_444_800), None, "expired at exp");
        assert_eq!(Hs256::new("another-secret").verify(token, 0), None);
    }

    /// A token made by `jose`'s `EncryptJWT` with Better Auth's derived key.
    #[test]
    fn jose_jwe_tokens_decrypt() {
        let token = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIiwia2lkIjoiSjBCaGpRV1FVWGZCbE5qQms2dExhZE1zZkhUWW9RRG16WGlYOTNUOWRmcyJ9..YvxxYTt0FqDsOkEVogsLDQ.e268SSIuh74cvXeVch5FXBtBLpB9GVGt9UYKo5v56ZlyoJ7I5OVlmuhmVPN7-fI6.6NmCb85t9fOiCwRe-bNgcO0cbalDDidVA4r3V_GbGd0";
        let jwe = DirectEncryption::derive(SECRET, "better-auth-session");
        assert_eq!(
            jwe.decrypt(token, 1_800_000_000),
            Some(claims(4_102_444_800))
        );
        // Within the 15 s tolerance, then not.
        assert!(jwe.decrypt(token, 4_102_444_814).is_some());
        assert_eq!(jwe.decrypt(token, 4_102_444_815), None);
        let other = DirectEncryption::derive(SECRET, "better-auth-account");
        assert_eq!(other.decrypt(token, 0), None, "another salt, another key");
    }

    #[test]
    fn encrypted_tokens_round_trip_and_resist_tampering() {
        let jwe = DirectEncryption::derive(SECRET, "better-auth-session");
        let token = jwe.encrypt(&claims(2_000_000_000));
        assert_eq!(jwe.decrypt(&token, 1_000), Some(claims(2_000_000_000)));
        let mut bytes = token.clone().into_bytes();
        let last_ciphertext_char = token.rfind('.').unwrap() - 1;
        bytes[last_ciphertext_char] = if bytes[last_ciphertext_char] == b'A' {
            b'B'
        } else {
            b'A'
        };
        assert_eq!(jwe.decrypt(&String::from_utf8(bytes).unwrap(), 1_000), None);
        assert_eq!(
            DirectEncryption::derive("another-secret", "better-auth-session")
                .decrypt(&token, 1_000),
            None
        );
    }
}
