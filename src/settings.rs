//! Settings: built-in defaults, then `authlog.toml`, then the environment, then flags.
//!
//! Better Auth's own variables are honoured (`BETTER_AUTH_SECRET`, `BETTER_AUTH_URL`,
//! `BETTER_AUTH_TRUSTED_ORIGINS`), `DATABASE_URL` too; everything else is `AUTHLOG_*`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use authlog_api::config::{AuthConfig, PasswordHashing, SessionConfig};
use authlog_bus::nats::StreamConfig;
use serde::Deserialize;

/// Better Auth's built-in development secret; refused in production.
pub const BETTER_AUTH_DEV_SECRET: &str = "better-auth-secret-12345678901234567890";

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub database_url: String,
    pub database_max_connections: u32,
    /// `None`: generate a development secret (refused in production).
    pub secret: Option<String>,
    /// `None`: `http://localhost:<port>`, with `http://127.0.0.1:<port>` also trusted.
    pub base_url: Option<String>,
    pub base_path: String,
    pub trusted_origins: Vec<String>,
    pub production: bool,
    pub session: SessionConfig,
    pub min_password_length: usize,
    pub max_password_length: usize,
    pub auto_sign_in: bool,
    pub disable_sign_up: bool,
    pub delete_user_enabled: bool,
    pub password_hashing: PasswordHashing,
    /// `None`: the embedded in-process bus. See [`Settings::nats_config`].
    pub nats_url: Option<String>,
    pub nats_stream: StreamConfig,
    /// `emailAndPassword.requireEmailVerification`.
    pub require_email_verification: bool,
    pub mail: crate::mail_settings::MailSettings,
    /// Administrators: may list everyone's audit trail.
    pub admin: authlog_api::config::AdminConfig,
    /// Endpoints called with every matching committed event.
    pub webhooks: Vec<authlog_bus::webhooks::Webhook>,
    pub webhook_retry: authlog_bus::webhooks::RetryPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 3000,
            database_url: "sqlite://authlog.db".to_owned(),
            database_max_connections: 8,
            secret: None,
            base_url: None,
            base_path: "/api/auth".to_owned(),
            trusted_origins: Vec::new(),
            production: false,
            session: SessionConfig::default(),
            min_password_length: 8,
            max_password_length: 128,
            auto_sign_in: true,
            disable_sign_up: false,
            delete_user_enabled: false,
            password_hashing: PasswordHashing::default(),
            nats_url: None,
            nats_stream: StreamConfig::default(),
            require_email_verification: false,
            mail: crate::mail_settings::MailSettings::default(),
            admin: authlog_api::config::AdminConfig::default(),
            webhooks: Vec::new(),
            webhook_retry: crate::webhook_settings::default_retry(),
        }
    }
}

/// The shape of `authlog.toml`. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    secret: Option<String>,
    base_url: Option<String>,
    base_path: Option<String>,
    trusted_origins: Option<Vec<String>>,
    production: Option<bool>,
    #[serde(default)]
    server: ServerFile,
    #[serde(default)]
    database: DatabaseFile,
    #[serde(default)]
    session: SessionFile,
    #[serde(default)]
    email_and_password: EmailPasswordFile,
    #[serde(default)]
    user: UserFile,
    #[serde(default)]
    password_hashing: HashingFile,
    #[serde(default)]
    bus: crate::bus_settings::BusFile,
    #[serde(default)]
    email: crate::mail_settings::EmailFile,
    #[serde(default)]
    email_verification: crate::mail_settings::EmailVerificationFile,
    #[serde(default)]
    password_reset: crate::mail_settings::PasswordResetFile,
    #[serde(default)]
    change_email: crate::mail_settings::ChangeEmailFile,
    #[serde(default)]
    admin: AdminFile,
    #[serde(default)]
    webhooks: Vec<crate::webhook_settings::WebhookFile>,
    #[serde(default)]
    webhook_delivery: crate::webhook_settings::DeliveryFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminFile {
    user_ids: Option<Vec<String>>,
    emails: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    host: Option<String>,
    port: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseFile {
    url: Option<String>,
    max_connections: Option<u32>,
}

/// Durations in seconds, as Better Auth takes them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFile {
    expires_in: Option<u64>,
    update_age: Option<u64>,
    fresh_age: Option<u64>,
    disable_refresh: Option<bool>,
    cache_ttl_ms: Option<u64>,
    #[serde(default)]
    cookie_cache: crate::cookie_cache_settings::CookieCacheFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailPasswordFile {
    min_password_length: Option<usize>,
    max_password_length: Option<usize>,
    auto_sign_in: Option<bool>,
    disable_sign_up: Option<bool>,
    require_email_verification: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    delete_enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HashingFile {
    memory_kib: Option<u32>,
    iterations: Option<u32>,
    parallelism: Option<u32>,
    workers: Option<usize>,
    queue: Option<usize>,
}

/// Where a setting can come from, so tests can load settings without touching the
/// process environment.
pub trait Environment {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// A fixed set of variables, for the settings tests of every module.
#[cfg(test)]
pub(crate) struct Vars(pub(crate) std::collections::HashMap<&'static str, &'static str>);

#[cfg(test)]
impl Environment for Vars {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| (*v).to_owned())
    }
}

impl Settings {
    /// Defaults, then the config file (the given path, else `authlog.toml` if it exists),
    /// then the environment.
    pub fn load(config_path: Option<&Path>, env: &dyn Environment) -> anyhow::Result<Self> {
        let mut settings = Self::default();
        let path = config_path
            .map(Path::to_path_buf)
            .or_else(|| env.get("AUTHLOG_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("authlog.toml")).filter(|p| p.exists()));
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let file: FileSettings =
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            settings.apply_file(file)?;
        }
        settings.apply_env(env)?;
        crate::cookie_cache_settings::normalize(&mut settings.session.cookie_cache);
        Ok(settings)
    }

    fn apply_file(&mut self, file: FileSettings) -> anyhow::Result<()> {
        set(&mut self.secret, file.secret.map(Some));
        set(&mut self.base_url, file.base_url.map(Some));
        set(&mut self.base_path, file.base_path);
        set(&mut self.trusted_origins, file.trusted_origins);
        set(&mut self.production, file.production);
        set(&mut self.host, file.server.host);
        set(&mut self.port, file.server.port);
        set(&mut self.database_url, file.database.url);
        set(
            &mut self.database_max_connections,
            file.database.max_connections,
        );
        let seconds = |s: Option<u64>| s.map(Duration::from_secs);
        set(
            &mut self.session.expires_in,
            seconds(file.session.expires_in),
        );
        set(
            &mut self.session.update_age,
            seconds(file.session.update_age),
        );
        set(&mut self.session.fresh_age, seconds(file.session.fresh_age));
        set(
            &mut self.session.disable_refresh,
            file.session.disable_refresh,
        );
        let millis = |ms: Option<u64>| ms.map(Duration::from_millis);
        set(
            &mut self.session.cache_ttl,
            millis(file.session.cache_ttl_ms),
        );
        set(
            &mut self.min_password_length,
            file.email_and_password.min_password_length,
        );
        set(
            &mut self.max_password_length,
            file.email_and_password.max_password_length,
        );
        set(&mut self.auto_sign_in, file.email_and_password.auto_sign_in);
        set(
            &mut self.disable_sign_up,
            file.email_and_password.disable_sign_up,
        );
        set(&mut self.delete_user_enabled, file.user.delete_enabled);
        set(
            &mut self.require_email_verification,
            file.email_and_password.require_email_verification,
        );
        set(&mut self.admin.user_ids, file.admin.user_ids);
        set(&mut self.admin.emails, file.admin.emails);
        self.mail.apply_file(
            file.email,
            file.email_verification,
            file.password_reset,
            file.change_email,
        )?;
        let hashing = &mut self.password_hashing;
        set(&mut hashing.memory_kib, file.password_hashing.memory_kib);
        set(&mut hashing.iterations, file.password_hashing.iterations);
        set(&mut hashing.parallelism, file.password_hashing.parallelism);
        set(&mut hashing.workers, file.password_hashing.workers);
        set(&mut hashing.queue, file.password_hashing.queue);
        crate::bus_settings::apply_file(self, file.bus);
        crate::webhook_settings::apply_file(self, file.webhooks, file.webhook_delivery)?;
        crate::cookie_cache_settings::apply_file(
            &mut self.session.cookie_cache,
            file.session.cookie_cache,
        )?;
        Ok(())
    }

    fn apply_env(&mut self, env: &dyn Environment) -> anyhow::Result<()> {
        let secret = env
            .get("BETTER_AUTH_SECRET")
            .or_else(|| env.get("AUTH_SECRET"));
        set(&mut self.secret, secret.map(Some));
        set(&mut self.base_url, env.get("BETTER_AUTH_URL").map(Some));
        if let Some(list) = env.get("BETTER_AUTH_TRUSTED_ORIGINS") {
            self.trusted_origins.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned),
            );
        }
        set(&mut self.database_url, env.get("DATABASE_URL"));
        set(&mut self.host, env.get("AUTHLOG_HOST"));
        set(&mut self.port, parse(env, "AUTHLOG_PORT")?);
        set(&mut self.base_path, env.get("AUTHLOG_BASE_PATH"));
        if let Some(mode) = env.get("AUTHLOG_ENV").or_else(|| env.get("NODE_ENV")) {
            self.production = mode == "production";
        }
        let seconds = |name: &str| parse::<u64>(env, name).map(|s| s.map(Duration::from_secs));
        set(
            &mut self.session.expires_in,
            seconds("AUTHLOG_SESSION_EXPIRES_IN")?,
        );
        set(
            &mut self.session.update_age,
            seconds("AUTHLOG_SESSION_UPDATE_AGE")?,
        );
        set(
            &mut self.session.fresh_age,
            seconds("AUTHLOG_SESSION_FRESH_AGE")?,
        );
        set(
            &mut self.session.disable_refresh,
            parse(env, "AUTHLOG_SESSION_DISABLE_REFRESH")?,
        );
        let cache_ttl =
            parse::<u64>(env, "AUTHLOG_SESSION_CACHE_TTL_MS")?.map(Duration::from_millis);
        set(&mut self.session.cache_ttl, cache_ttl);
        crate::cookie_cache_settings::apply_env(&mut self.session.cookie_cache, env)?;
        set(
            &mut self.min_password_length,
            parse(env, "AUTHLOG_PASSWORD_MIN_LENGTH")?,
        );
        set(
            &mut self.max_password_length,
            parse(env, "AUTHLOG_PASSWORD_MAX_LENGTH")?,
        );
        set(&mut self.auto_sign_in, parse(env, "AUTHLOG_AUTO_SIGN_IN")?);
        set(
            &mut self.disable_sign_up,
            parse(env, "AUTHLOG_DISABLE_SIGN_UP")?,
        );
        set(
            &mut self.delete_user_enabled,
            parse(env, "AUTHLOG_DELETE_USER_ENABLED")?,
        );
        set(
            &mut self.password_hashing.workers,
            parse(env, "AUTHLOG_HASH_WORKERS")?,
        );
        set(
            &mut self.password_hashing.memory_kib,
            parse(env, "AUTHLOG_HASH_MEMORY_KIB")?,
        );
        set(
            &mut self.password_hashing.iterations,
            parse(env, "AUTHLOG_HASH_ITERATIONS")?,
        );
        set(
            &mut self.require_email_verification,
            parse(env, "AUTHLOG_REQUIRE_EMAIL_VERIFICATION")?,
        );
        self.mail.apply_env(env)?;
        let list = |name: &str| {
            env.get(name).map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
        };
        set(&mut self.admin.user_ids, list("AUTHLOG_ADMIN_USER_IDS"));
        set(&mut self.admin.emails, list("AUTHLOG_ADMIN_EMAILS"));
        crate::bus_settings::apply_env(self, env)?;
        crate::webhook_settings::apply_env(self, env)?;
        Ok(())
    }

    /// The service configuration once the listening port is known. `secret` is the
    /// configured secret or the generated development one.
    pub fn auth_config(&self, port: u16, secret: String) -> anyhow::Result<AuthConfig> {
        if self.min_password_length > self.max_password_length {
            bail!(
                "password length: min {} is above max {}",
                self.min_password_length,
                self.max_password_length
            );
        }
        let base_url = self
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{port}"));
        let mut config = AuthConfig::new(base_url, secret);
        config.base_path = self.base_path.clone();
        config.trusted_origins = self.trusted_origins.clone();
        if self.base_url.is_none() {
            config
                .trusted_origins
                .push(format!("http://127.0.0.1:{port}"));
        }
        config.session = self.session.clone();
        config.email_and_password.password.min_length = self.min_password_length;
        config.email_and_password.password.max_length = self.max_password_length;
        config.email_and_password.auto_sign_in = self.auto_sign_in;
        config.email_and_password.disable_sign_up = self.disable_sign_up;
        config.delete_user_enabled = self.delete_user_enabled;
        let password = &mut config.email_and_password;
        password.require_email_verification = self.require_email_verification;
        password.reset_password_enabled = self.mail.reset_password_enabled;
        password.reset_password_token_expires_in = self.mail.reset_password_expires_in;
        password.revoke_sessions_on_password_reset = self.mail.revoke_sessions_on_password_reset;
        config.email_verification = self.mail.email_verification;
        config.admin = self.admin.clone();
        config.change_email = self.mail.change_email;
        config.password_hashing = self.password_hashing;
        Ok(config)
    }

    /// Refuses a configured secret that is unfit for production.
    pub fn check_secret(&self) -> anyhow::Result<()> {
        if !self.production {
            return Ok(());
        }
        match &self.secret {
            None => bail!(
                "production mode needs a secret: set BETTER_AUTH_SECRET (generate one with `authlog secret`)"
            ),
            Some(secret) if secret == BETTER_AUTH_DEV_SECRET => {
                bail!("production mode refuses Better Auth's default development secret")
            }
            Some(secret) if secret.len() < 32 => {
                bail!("production mode needs a secret of at least 32 characters")
            }
            Some(_) => Ok(()),
        }
    }
}

pub(crate) fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

pub(crate) fn parse<T: std::str::FromStr>(
    env: &dyn Environment,
    name: &str,
) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match env.get(name) {
        None => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{name}={raw:?}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authlog.toml");
        std::fs::write(
            &path,
            "secret = \"file-secret-file-secret-file-secret\"\n[server]\nport = 4000\n[session]\nexpires_in = 60\n",
        )
        .unwrap();
        let env = Vars(HashMap::from([
            ("AUTHLOG_PORT", "5000"),
            (
                "BETTER_AUTH_TRUSTED_ORIGINS",
                "https://a.example, https://b.example",
            ),
        ]));
        let settings = Settings::load(Some(&path), &env).unwrap();
        assert_eq!(settings.port, 5000);
        assert_eq!(settings.session.expires_in, Duration::from_secs(60));
        assert_eq!(
            settings.secret.as_deref(),
            Some("file-secret-file-secret-file-secret")
        );
        assert_eq!(
            settings.trusted_origins,
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authlog.toml");
        std::fs::write(&path, "[sesion]\nexpires_in = 60\n").unwrap();
        assert!(Settings::load(Some(&path), &Vars(HashMap::new())).is_err());
    }

    #[test]
    fn production_refuses_weak_or_missing_secrets() {
        let production = |secret: Option<&str>| Settings {
            production: true,
            secret: secret.map(str::to_owned),
            ..Settings::default()
        };
        assert!(production(None).check_secret().is_err());
        assert!(production(Some(BETTER_AUTH_DEV_SECRET))
            .check_secret()
            .is_err());
        assert!(production(Some("short")).check_secret().is_err());
        assert!(production(Some(&"x".repeat(32))).check_secret().is_ok());
        assert!(Settings::default().check_secret().is_ok());
    }
}
