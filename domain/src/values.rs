//! Value types parsed at the edge. Each has a private field and a `parse` constructor, so
//! holding one proves the input was checked. They deserialize without re-running today's
//! rules: history written under older rules must still load.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an input was refused. The variants map one to one onto Better Auth error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    #[error("Invalid email")]
    Email,
    #[error("Password too short")]
    PasswordTooShort,
    #[error("Password too long")]
    PasswordTooLong,
}

/// An email address, trimmed and lower-cased (Better Auth stores emails lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Accepts what Better Auth's sign-up schema (zod 4's `email`) accepts, without
    /// trimming, then lower-cases. Local part: dot-separated non-empty runs of
    /// `[A-Za-z0-9_'+-]` whose last character is not `'`; domain: one or more labels that
    /// start with a letter or digit, then a top-level domain of at least two letters.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let (local, domain) = raw.rsplit_once('@').ok_or(InvalidInput::Email)?;
        let local_char = |c: char| c.is_ascii_alphanumeric() || "_'+-".contains(c);
        let local_ok = !local.is_empty()
            && local
                .split('.')
                .all(|run| !run.is_empty() && run.chars().all(local_char))
            && !local.ends_with('\'');
        let mut labels: Vec<&str> = domain.split('.').collect();
        let tld = labels.pop().unwrap_or_default();
        let domain_ok = !labels.is_empty()
            && labels.iter().all(|label| {
                label.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && tld.len() >= 2
            && tld.chars().all(|c| c.is_ascii_alphabetic());
        if local_ok && domain_ok {
            Ok(Self(raw.to_lowercase()))
        } else {
            Err(InvalidInput::Email)
        }
    }

    /// An email read back from storage, where only parsed emails are ever written. Not
    /// re-validated: history written under older rules must still load.
    pub fn from_stored(email: String) -> Self {
        Self(email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Password length limits, counted as JavaScript counts (UTF-16 code units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
        }
    }
}

/// A plaintext password that passed the length policy. It never serializes and its
/// `Debug` output is redacted, so it cannot end up in an event or a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str, policy: PasswordPolicy) -> Result<Self, InvalidInput> {
        let length = raw.encode_utf16().count();
        if length < policy.min_length {
            Err(InvalidInput::PasswordTooShort)
        } else if length > policy.max_length {
            Err(InvalidInput::PasswordTooLong)
        } else {
            Ok(Self(raw.to_owned()))
        }
    }

    /// A password offered for verification (sign-in, re-authentication). Only the upper
    /// bound applies: an old password may predate today's minimum.
    pub fn candidate(raw: &str, policy: PasswordPolicy) -> Result<Self, InvalidInput> {
        if raw.encode_utf16().count() > policy.max_length {
            Err(InvalidInput::PasswordTooLong)
        } else {
            Ok(Self(raw.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A display name. Better Auth allows an empty name (magic-link and OTP sign-ups create one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password hash in PHC string form (`$argon2id$...`) or Better Auth's scrypt form
/// (`saltHex:keyHex`). Not a secret in the bearer sense, but never returned over HTTP.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(encoded: String) -> Self {
        Self(encoded)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Lower-case hex SHA-256 of a bearer token. The store keeps only this, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: String) -> Self {
                Self(id)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A user id: 32 characters `[A-Za-z0-9]`, as Better Auth generates them.
    UserId
);
id_type!(
    /// A session id (not its token: the token is a bearer secret and lives nowhere).
    SessionId
);
id_type!(
    /// An account row id (Better Auth's `account.id`).
    AccountId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased() {
        let email = Email::parse("Ada.Lovelace+x@Mail.Example.COM").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace+x@mail.example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "abc",
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@-x.com",
            "a@x..com",
            "a..b@x.com",
        ] {
            assert_eq!(Email::parse(raw), Err(InvalidInput::Email), "{raw:?}");
        }
    }

    #[test]
    fn password_length_counts_utf16_units() {
        let policy = PasswordPolicy {
            min_length: 8,
            max_length: 10,
        };
        assert_eq!(
            Password::parse("1234567", policy),
            Err(InvalidInput::PasswordTooShort)
        );
        assert!(Password::parse("12345678", policy).is_ok());
        // Four astral characters are eight UTF-16 units.
        assert!(Password::parse("😀😀😀😀", policy).is_ok());
        assert_eq!(
            Password::parse("😀😀😀😀😀😀", policy),
            Err(InvalidInput::PasswordTooLong)
        );
        assert!(Password::candidate("short", policy).is_ok());
    }

    #[test]
    fn secrets_do_not_print() {
        let password = Password::parse("hunter2hunter2", PasswordPolicy::default()).unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
        let hash = PasswordHash::new("$argon2id$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }
}
