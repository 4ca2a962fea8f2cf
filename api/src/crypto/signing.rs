//! Signed cookie values as better-call writes them: `value.base64(HMAC-SHA256(secret, value))`
//! with standard base64 and padding, so the signature is always 44 characters ending in `=`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies cookie values with the current secret.
#[derive(Clone)]
pub struct CookieSigner {
    mac: HmacSha256,
}

impl std::fmt::Debug for CookieSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSigner(<secret>)")
    }
}

impl CookieSigner {
    pub fn new(secret: &str) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key"),
        }
    }

    /// `value.signature` (not yet URL-encoded).
    pub fn sign(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        format!("{value}.{signature}")
    }

    /// The value of a signed cookie, if its signature holds. Mirrors better-call: split at
    /// the last `.`, require a 44-character signature ending in `=`, compare in constant time.
    pub fn verify<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (value, signature) = signed.rsplit_once('.')?;
        if value.is_empty() || signature.len() != 44 || !signature.ends_with('=') {
            return None;
        }
        let signature = STANDARD.decode(signature).ok()?;
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        mac.verify_slice(&signature).ok()?;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value captured from Better Auth (contract 3.3).
    #[test]
    fn signatures_match_better_auth() {
        let signer = CookieSigner::new("a-very-long-secret-value-for-testing-1234567890abcdef");
        assert_eq!(
            signer.sign("Vqa2CY5iLMU7xQUxFeaG61zDcoWz1ZA8"),
            "Vqa2CY5iLMU7xQUxFeaG61zDcoWz1ZA8.Ct1WPY9EMv7MNHd0/BayROAhdsX3/QMwUs/sfyqMni0="
        );
    }

    #[test]
    fn tampered_values_do_not_verify() {
        let signer = CookieSigner::new("secret-secret-secret-secret-secret");
        let signed = signer.sign("token123");
        assert_eq!(signer.verify(&signed), Some("token123"));
        assert_eq!(signer.verify(&signed.replace("token123", "token124")), None);
        assert_eq!(signer.verify("token123"), None);
        assert_eq!(signer.verify("token123.short="), None);
        let other = CookieSigner::new("another-secret-another-secret-xx");
        assert_eq!(other.verify(&signed), None);
    }
}
