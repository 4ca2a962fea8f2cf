//! Typed settings. The binary builds them from `authlog.toml` and the environment; tests
//! build them directly.

use std::time::Duration;

use authlog_domain::values::PasswordPolicy;

/// Everything the application service and the router need to know.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Signs cookies. Better Auth's `secret` / `BETTER_AUTH_SECRET`.
    pub secret: String,
    /// The public origin and path prefix of the server, e.g. `https://auth.example.com`.
    pub base_url: String,
    /// Better Auth's `basePath`, `/api/auth` by default.
    pub base_path: String,
    /// Origins allowed to send cookie-bearing requests, besides `base_url`'s own.
    pub trusted_origins: Vec<String>,
    pub session: SessionConfig,
    pub email_and_password: EmailPasswordConfig,
    pub email_verification: EmailVerificationConfig,
    pub change_email: ChangeEmailConfig,
    /// Better Auth's `user.deleteUser.enabled` (off by default, as there).
    pub delete_user_enabled: bool,
    pub admin: AdminConfig,
    /// `advanced.useSecureCookies`; `None` means "when `base_url` is https".
    pub use_secure_cookies: Option<bool>,
    /// `advanced.cookiePrefix`, `better-auth` by default.
    pub cookie_prefix: String,
    pub password_hashing: PasswordHashing,
}

/// Better Auth's `session.*` settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub expires_in: Duration,
    pub update_age: Duration,
    /// A session younger than this is "fresh" (list-sessions, delete without password).
    /// Zero turns the check off.
    pub fresh_age: Duration,
    /// Lifetime of a session created with `rememberMe: false`.
    pub dont_remember_expires_in: Duration,
    pub disable_refresh: bool,
    /// How long this process may answer get-session from memory. A session revoked through
    /// another instance is refused here at the latest this long after. Zero turns it off.
    pub cache_ttl: Duration,
    /// Sessions kept in memory at most.
    pub cache_capacity: usize,
    /// Better Auth's `session.cookieCache`: the signed `session_data` cookie.
    pub cookie_cache: CookieCacheConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            expires_in: Duration::from_secs(7 * 86_400),
            update_age: Duration::from_secs(86_400),
            fresh_age: Duration::from_secs(86_400),
            dont_remember_expires_in: Duration::from_secs(86_400),
            disable_refresh: false,
            cache_ttl: Duration::from_secs(1),
            cache_capacity: 100_000,
            cookie_cache: CookieCacheConfig::default(),
        }
    }
}

/// Better Auth's `session.cookieCache.*` settings (contract 3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieCacheConfig {
    /// Off by default, as in Better Auth.
    pub enabled: bool,
    /// The cookie's lifetime: how long a client may be answered from it.
    pub max_age: Duration,
    pub strategy: CookieCacheStrategy,
    /// Cookies of any other version are refused and re-issued; bumping it invalidates every
    /// outstanding cookie while the sessions stay valid.
    pub version: String,
    /// Better Auth's `refreshCache`. Better Auth turns it off (with a warning) whenever the
    /// sessions live in a database, since it is meant for stateless setups; authlog always
    /// has one, so it is accepted for configuration parity and has no effect.
    pub refresh_cache: bool,
    /// Revoked sessions remembered for the cookie-cache check at most. Past that, the cookie
    /// cache is bypassed until the oldest entries age out (see `auth::revocations`).
    pub revocation_capacity: usize,
}

impl Default for CookieCacheConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_age: Duration::from_secs(300),
            strategy: CookieCacheStrategy::Compact,
            version: "1".to_owned(),
            refresh_cache: false,
            revocation_capacity: 100_000,
        }
    }
}

impl CookieCacheConfig {
    /// The longest any `session_data` cookie issued under this configuration stays
    /// acceptable. A "remember me: false" session's cookie has no `Max-Age`, and Better
    /// Auth then dates it 60 s (compact) or 300 s (jwt, jwe) ahead instead of `max_age`.
    pub fn longest_cookie_lifetime(&self) -> Duration {
        let without_max_age = match self.strategy {
            CookieCacheStrategy::Compact => Duration::from_secs(60),
            CookieCacheStrategy::Jwt | CookieCacheStrategy::Jwe => Duration::from_secs(300),
        };
        self.max_age.max(without_max_age)
    }
}

/// How the `session_data` cookie is sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieCacheStrategy {
    /// base64url JSON with an HMAC-SHA256 signature (Better Auth's default).
    Compact,
    /// An HS256 JWT signed with the secret.
    Jwt,
    /// A JWE (`dir`, `A256CBC-HS512`) under a key derived from the secret: the payload is
    /// not readable by the client.
    Jwe,
}

impl std::str::FromStr for CookieCacheStrategy {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "compact" => Ok(Self::Compact),
            "jwt" => Ok(Self::Jwt),
            "jwe" => Ok(Self::Jwe),
            other => Err(format!(
                "unknown cookie cache strategy {other:?}: use compact, jwt or jwe"
            )),
        }
    }
}

impl std::fmt::Display for CookieCacheStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Compact => "compact",
            Self::Jwt => "jwt",
            Self::Jwe => "jwe",
        })
    }
}

/// Better Auth's `emailAndPassword.*` settings.
#[derive(Debug, Clone, Copy)]
pub struct EmailPasswordConfig {
    pub enabled: bool,
    pub disable_sign_up: bool,
    pub password: PasswordPolicy,
    /// Sign the user in right after sign-up.
    pub auto_sign_in: bool,
    /// Refuse sign-in (403 `EMAIL_NOT_VERIFIED`) until the email is verified.
    pub require_email_verification: bool,
    /// `/request-password-reset` mails a link (Better Auth: when `sendResetPassword` is set).
    pub reset_password_enabled: bool,
    pub reset_password_token_expires_in: Duration,
    /// End every session of the user when their password is reset.
    pub revoke_sessions_on_password_reset: bool,
}

impl Default for EmailPasswordConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            disable_sign_up: false,
            password: PasswordPolicy::default(),
            auto_sign_in: true,
            require_email_verification: false,
            reset_password_enabled: true,
            reset_password_token_expires_in: Duration::from_secs(3600),
            revoke_sessions_on_password_reset: false,
        }
    }
}

/// Better Auth's `emailVerification.*`. authlog can always deliver mail (SMTP, or the
/// development mailbox file), so verification is on unless turned off.
#[derive(Debug, Clone, Copy)]
pub struct EmailVerificationConfig {
    /// Off answers `VERIFICATION_EMAIL_NOT_ENABLED`, as Better Auth without
    /// `sendVerificationEmail`.
    pub enabled: bool,
    /// Mail a verification link on sign-up; `None` follows `require_email_verification`.
    pub send_on_sign_up: Option<bool>,
    /// Mail a new link when an unverified user is refused at sign-in.
    pub send_on_sign_in: bool,
    /// Sign the user in when they follow the link.
    pub auto_sign_in_after_verification: bool,
    pub expires_in: Duration,
}

impl Default for EmailVerificationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            send_on_sign_up: None,
            send_on_sign_in: false,
            auto_sign_in_after_verification: false,
            expires_in: Duration::from_secs(3600),
        }
    }
}

/// Who may read everyone's audit trail (Better Auth admin plugin's `adminUserIds`).
#[derive(Debug, Clone, Default)]
pub struct AdminConfig {
    pub user_ids: Vec<String>,
    /// Users whose email is one of these *and verified* are administrators too: an
    /// unverified address could have been registered by anyone.
    pub emails: Vec<String>,
}

/// Better Auth's `user.changeEmail.*`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeEmailConfig {
    pub enabled: bool,
    /// An unverified user's email changes at once.
    pub update_email_without_verification: bool,
    /// A verified user first confirms the change from their current address.
    pub send_change_email_confirmation: bool,
}

/// Argon2id cost and the pool that runs it.
#[derive(Debug, Clone, Copy)]
pub struct PasswordHashing {
    /// Memory in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Passes (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
    /// Threads hashing at once; each holds `memory_kib` of memory. Defaults to the cores.
    pub workers: usize,
    /// Requests allowed to wait for a worker; beyond that the server answers 429.
    pub queue: usize,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            workers,
            queue: workers * 64,
        }
    }
}

impl AuthConfig {
    /// A configuration with Better Auth's defaults for `base_url` and `secret`.
    pub fn new(base_url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            base_path: "/api/auth".to_owned(),
            trusted_origins: Vec::new(),
            session: SessionConfig::default(),
            email_and_password: EmailPasswordConfig::default(),
            email_verification: EmailVerificationConfig::default(),
            change_email: ChangeEmailConfig::default(),
            delete_user_enabled: false,
            admin: AdminConfig::default(),
            use_secure_cookies: None,
            cookie_prefix: "better-auth".to_owned(),
            password_hashing: PasswordHashing::default(),
        }
    }

    /// Whether cookies get `Secure` and the `__Secure-` prefix.
    pub fn secure_cookies(&self) -> bool {
        self.use_secure_cookies
            .unwrap_or_else(|| self.base_url.starts_with("https://"))
    }

    /// The origin of `base_url` (scheme, host and port).
    pub fn base_origin(&self) -> String {
        origin_of(&self.base_url).unwrap_or_else(|| self.base_url.clone())
    }

    /// `base_url`'s origin followed by the configured trusted origins.
    pub fn all_trusted_origins(&self) -> Vec<String> {
        let mut origins = vec![self.base_origin()];
        origins.extend(self.trusted_origins.iter().cloned());
        origins
    }
}

/// `scheme://host[:port]` of an absolute URL, lower-cased, without a trailing slash; `None`
/// when `url` is not absolute.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty() {
        return None;
    }
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_paths_and_credentials() {
        assert_eq!(
            origin_of("https://App.example.com/x?y").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            origin_of("http://u:p@127.0.0.1:3000/").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(origin_of("/relative"), None);
        assert_eq!(origin_of("https://"), None);
    }
}
