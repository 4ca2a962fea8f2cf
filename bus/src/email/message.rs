//! The mails: subject, text and link for each kind of verification.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::MailSettings;

/// JavaScript's `encodeURIComponent`, as Better Auth encodes the callback in its links.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The verification purposes that have a mail (the stored names of
/// `authlog_domain::verification::Purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmailConfirmation,
    ChangeEmailVerification,
}

impl Purpose {
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "verify_email" => Some(Self::VerifyEmail),
            "reset_password" => Some(Self::ResetPassword),
            "change_email_confirmation" => Some(Self::ChangeEmailConfirmation),
            "change_email_verification" => Some(Self::ChangeEmailVerification),
            _ => None,
        }
    }

    /// The mail's kind, as the development mailbox records it. The verification mailed to
    /// a new address is a `verify-email`, as in Better Auth.
    pub fn kind(self) -> &'static str {
        match self {
            Self::VerifyEmail | Self::ChangeEmailVerification => "verify-email",
            Self::ResetPassword => "reset-password",
            Self::ChangeEmailConfirmation => "change-email-confirmation",
        }
    }
}

/// One mail, ready for a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The event that asked for it: the idempotency key of every transport.
    pub event_id: String,
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub url: String,
    pub token: String,
}

/// Builds the mail of `purpose`. Links have Better Auth's shapes:
/// `{api}/verify-email?token=T&callbackURL=C` and `{api}/reset-password/T?callbackURL=C`.
pub fn compose(
    settings: &MailSettings,
    purpose: Purpose,
    event_id: String,
    to: String,
    new_email: Option<&str>,
    token: String,
    callback_url: Option<&str>,
) -> Mail {
    let api = settings.api_url.trim_end_matches('/');
    let app = &settings.app_name;
    let url = match purpose {
        Purpose::ResetPassword => format!(
            "{api}/reset-password/{token}?callbackURL={}",
            utf8_percent_encode(callback_url.unwrap_or(""), URI_COMPONENT)
        ),
        _ => format!(
            "{api}/verify-email?token={token}&callbackURL={}",
            utf8_percent_encode(callback_url.unwrap_or("/"), URI_COMPONENT)
        ),
    };
    let (subject, text) = match purpose {
        Purpose::VerifyEmail => (
            format!("Verify your email address for {app}"),
            format!("Follow this link to verify your email address for {app}:\n\n{url}\n"),
        ),
        Purpose::ChangeEmailVerification => (
            format!("Confirm your new email address for {app}"),
            format!("Follow this link to use this address for your {app} account:\n\n{url}\n"),
        ),
        Purpose::ChangeEmailConfirmation => (
            format!("Approve the change of your {app} email address"),
            format!(
                "Someone asked to change the email address of your {app} account to {}.\n\
                 If it was you, follow this link to approve it:\n\n{url}\n\n\
                 If it was not, ignore this mail: nothing changes.\n",
                new_email.unwrap_or("a new address")
            ),
        ),
        Purpose::ResetPassword => (
            format!("Reset your {app} password"),
            format!(
                "Follow this link to choose a new password for {app}:\n\n{url}\n\n\
                 If you did not ask for this, ignore this mail: your password stays as it is.\n"
            ),
        ),
    };
    Mail {
        event_id,
        kind: purpose.kind(),
        to,
        subject,
        text,
        url,
        token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MailSettings {
        MailSettings {
            app_name: "Acme".into(),
            api_url: "http://127.0.0.1:3000/api/auth".into(),
        }
    }

    #[test]
    fn links_have_better_auths_shapes() {
        let mail = compose(
            &settings(),
            Purpose::VerifyEmail,
            "e1".into(),
            "a@example.com".into(),
            None,
            "T0k".into(),
            Some("/welcome?x=1"),
        );
        assert_eq!(
            mail.url,
            "http://127.0.0.1:3000/api/auth/verify-email?token=T0k&callbackURL=%2Fwelcome%3Fx%3D1"
        );
        assert_eq!(mail.kind, "verify-email");
        assert!(mail.subject.contains("Acme"));
        let mail = compose(
            &settings(),
            Purpose::ResetPassword,
            "e2".into(),
            "a@example.com".into(),
            None,
            "T0k".into(),
            None,
        );
        assert_eq!(
            mail.url,
            "http://127.0.0.1:3000/api/auth/reset-password/T0k?callbackURL="
        );
        let mail = compose(
            &settings(),
            Purpose::VerifyEmail,
            "e3".into(),
            "a@example.com".into(),
            None,
            "T0k".into(),
            None,
        );
        assert!(mail.url.ends_with("callbackURL=%2F"));
    }
}
