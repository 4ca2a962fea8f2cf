//! Before hooks: synchronous veto points for Rust code that embeds authlog (Better Auth's
//! `hooks.before` and database `before` hooks). A hook sees what is about to happen and may
//! refuse it with an error that reaches the client as `{"message","code"}`; nothing is
//! written then. Side effects after the fact belong in consumers of the log, not here.

use std::borrow::Cow;

use axum::http::StatusCode;

use crate::error::AuthError;

/// An action about to be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action<'a> {
    SignUp {
        email: &'a str,
        name: &'a str,
    },
    SignIn {
        email: &'a str,
    },
    UpdateUser {
        user_id: &'a str,
    },
    ChangePassword {
        user_id: &'a str,
    },
    ChangeEmail {
        user_id: &'a str,
        new_email: &'a str,
    },
    DeleteUser {
        user_id: &'a str,
    },
    RequestPasswordReset {
        email: &'a str,
    },
}

/// A veto point. Return `Err` to refuse the action.
#[async_trait::async_trait]
pub trait BeforeHook: Send + Sync {
    async fn before(&self, action: &Action<'_>) -> Result<(), AuthError>;
}

/// A refusal with the application's own code, e.g. `refuse(StatusCode::FORBIDDEN,
/// "EMAIL_DOMAIN_BLOCKED", "Sign-ups from this domain are not allowed")`.
pub fn refuse(
    status: StatusCode,
    code: impl Into<Cow<'static, str>>,
    message: impl Into<Cow<'static, str>>,
) -> AuthError {
    AuthError::Custom {
        status,
        code: code.into(),
        message: message.into(),
    }
}
