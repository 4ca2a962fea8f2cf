//! Settings of the mail flows (email verification, password reset, email change) and of
//! mail delivery, from `authlog.toml` sections `[email]`, `[email_verification]`,
//! `[password_reset]`, `[change_email]` and `AUTHLOG_*` variables.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use authlog_api::config::{ChangeEmailConfig, EmailVerificationConfig};
use authlog_bus::email::smtp::{SmtpSettings, TlsMode};
use serde::Deserialize;

use crate::settings::{parse, set, Environment};

/// Everything about mail.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub email_verification: EmailVerificationConfig,
    pub change_email: ChangeEmailConfig,
    pub reset_password_enabled: bool,
    pub reset_password_expires_in: Duration,
    pub revoke_sessions_on_password_reset: bool,
    /// Shown in mails.
    pub app_name: String,
    pub from: String,
    /// The development mailbox file; `None` means `mailbox.jsonl` beside the SQLite file.
    pub mailbox: Option<PathBuf>,
    /// Send through SMTP instead of the mailbox.
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_tls: TlsMode,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            email_verification: EmailVerificationConfig::default(),
            change_email: ChangeEmailConfig::default(),
            reset_password_enabled: true,
            reset_password_expires_in: Duration::from_secs(3600),
            revoke_sessions_on_password_reset: false,
            app_name: "authlog".to_owned(),
            from: "authlog <no-reply@localhost>".to_owned(),
            mailbox: None,
            smtp_host: None,
            smtp_port: None,
            smtp_tls: TlsMode::StartTls,
            smtp_username: None,
            smtp_password: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailFile {
    app_name: Option<String>,
    from: Option<String>,
    mailbox: Option<PathBuf>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailVerificationFile {
    enabled: Option<bool>,
    send_on_sign_up: Option<bool>,
    send_on_sign_in: Option<bool>,
    auto_sign_in_after_verification: Option<bool>,
    expires_in: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordResetFile {
    enabled: Option<bool>,
    expires_in: Option<u64>,
    revoke_sessions: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeEmailFile {
    enabled: Option<bool>,
    update_without_verification: Option<bool>,
    send_confirmation: Option<bool>,
}

impl MailSettings {
    pub(crate) fn apply_file(
        &mut self,
        email: EmailFile,
        verification: EmailVerificationFile,
        reset: PasswordResetFile,
        change: ChangeEmailFile,
    ) -> anyhow::Result<()> {
        set(&mut self.app_name, email.app_name);
        set(&mut self.from, email.from);
        set(&mut self.mailbox, email.mailbox.map(Some));
        set(&mut self.smtp_host, email.smtp_host.map(Some));
        set(&mut self.smtp_port, email.smtp_port.map(Some));
        if let Some(tls) = email.smtp_tls {
            self.smtp_tls = tls_mode(&tls)?;
        }
        set(&mut self.smtp_username, email.smtp_username.map(Some));
        set(&mut self.smtp_password, email.smtp_password.map(Some));
        let v = &mut self.email_verification;
        set(&mut v.enabled, verification.enabled);
        set(
            &mut v.send_on_sign_up,
            verification.send_on_sign_up.map(Some),
        );
        set(&mut v.send_on_sign_in, verification.send_on_sign_in);
        set(
            &mut v.auto_sign_in_after_verification,
            verification.auto_sign_in_after_verification,
        );
        set(
            &mut v.expires_in,
            verification.expires_in.map(Duration::from_secs),
        );
        set(&mut self.reset_password_enabled, reset.enabled);
        set(
            &mut self.reset_password_expires_in,
            reset.expires_in.map(Duration::from_secs),
        );
        set(
            &mut self.revoke_sessions_on_password_reset,
            reset.revoke_sessions,
        );
        set(&mut self.change_email.enabled, change.enabled);
        set(
            &mut self.change_email.update_email_without_verification,
            change.update_without_verification,
        );
        set(
            &mut self.change_email.send_change_email_confirmation,
            change.send_confirmation,
        );
        Ok(())
    }

    pub(crate) fn apply_env(&mut self, env: &dyn Environment) -> anyhow::Result<()> {
        set(&mut self.app_name, env.get("AUTHLOG_APP_NAME"));
        set(&mut self.from, env.get("AUTHLOG_EMAIL_FROM"));
        set(
            &mut self.mailbox,
            env.get("AUTHLOG_MAILBOX").map(|p| Some(PathBuf::from(p))),
        );
        set(&mut self.smtp_host, env.get("AUTHLOG_SMTP_HOST").map(Some));
        set(
            &mut self.smtp_port,
            parse::<u16>(env, "AUTHLOG_SMTP_PORT")?.map(Some),
        );
        if let Some(tls) = env.get("AUTHLOG_SMTP_TLS") {
            self.smtp_tls = tls_mode(&tls)?;
        }
        set(
            &mut self.smtp_username,
            env.get("AUTHLOG_SMTP_USERNAME").map(Some),
        );
        set(
            &mut self.smtp_password,
            env.get("AUTHLOG_SMTP_PASSWORD").map(Some),
        );
        let v = &mut self.email_verification;
        set(
            &mut v.enabled,
            parse(env, "AUTHLOG_EMAIL_VERIFICATION_ENABLED")?,
        );
        set(
            &mut v.send_on_sign_up,
            parse::<bool>(env, "AUTHLOG_SEND_VERIFICATION_ON_SIGN_UP")?.map(Some),
        );
        set(
            &mut v.send_on_sign_in,
            parse(env, "AUTHLOG_SEND_VERIFICATION_ON_SIGN_IN")?,
        );
        set(
            &mut v.auto_sign_in_after_verification,
            parse(env, "AUTHLOG_AUTO_SIGN_IN_AFTER_VERIFICATION")?,
        );
        set(
            &mut self.revoke_sessions_on_password_reset,
            parse(env, "AUTHLOG_REVOKE_SESSIONS_ON_PASSWORD_RESET")?,
        );
        set(
            &mut self.change_email.enabled,
            parse(env, "AUTHLOG_CHANGE_EMAIL_ENABLED")?,
        );
        set(
            &mut self.change_email.update_email_without_verification,
            parse(env, "AUTHLOG_UPDATE_EMAIL_WITHOUT_VERIFICATION")?,
        );
        set(
            &mut self.change_email.send_change_email_confirmation,
            parse(env, "AUTHLOG_SEND_CHANGE_EMAIL_CONFIRMATION")?,
        );
        Ok(())
    }

    /// The SMTP settings, when a host is configured.
    pub fn smtp(&self) -> Option<SmtpSettings> {
        let host = self.smtp_host.clone()?;
        let port = self.smtp_port.unwrap_or(match self.smtp_tls {
            TlsMode::Tls => 465,
            TlsMode::StartTls => 587,
            TlsMode::None => 25,
        });
        Some(SmtpSettings {
            host,
            port,
            tls: self.smtp_tls,
            username: self.smtp_username.clone(),
            password: self.smtp_password.clone(),
            from: self.from.clone(),
        })
    }

    /// The mailbox file: as configured, else beside the SQLite file, else in the working
    /// directory.
    pub fn mailbox_path(&self, database_url: &str) -> PathBuf {
        if let Some(path) = &self.mailbox {
            return path.clone();
        }
        let sqlite_file = database_url
            .strip_prefix("sqlite://")
            .or_else(|| database_url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or(rest));
        match sqlite_file
            .map(std::path::Path::new)
            .and_then(|file| file.parent())
        {
            Some(dir) => dir.join("mailbox.jsonl"),
            None => PathBuf::from("mailbox.jsonl"),
        }
    }
}

fn tls_mode(text: &str) -> anyhow::Result<TlsMode> {
    match TlsMode::parse(text) {
        Some(mode) => Ok(mode),
        None => bail!("SMTP TLS mode {text:?}: use none, starttls or tls"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mailbox_sits_beside_the_sqlite_file() {
        let mail = MailSettings::default();
        assert_eq!(
            mail.mailbox_path("sqlite:///var/lib/authlog/authlog.db"),
            PathBuf::from("/var/lib/authlog/mailbox.jsonl")
        );
        assert_eq!(
            mail.mailbox_path("sqlite://authlog.db"),
            PathBuf::from("mailbox.jsonl")
        );
        assert_eq!(
            mail.mailbox_path("postgres://db/authlog"),
            PathBuf::from("mailbox.jsonl")
        );
    }
}
