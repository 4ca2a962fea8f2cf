//! Better Auth's errors: a code, a message and an HTTP status (contract section 10).
//!
//! The same `AuthError` is returned by the in-process `Auth` service and rendered by the
//! router as `{"message","code"}`, so `auth.sign_in_email(..)` fails exactly as
//! `POST /sign-in/email` does.

use std::borrow::Cow;

use axum::http::StatusCode;

macro_rules! error_codes {
    ($($code:ident => $status:ident, $message:literal;)*) => {
        /// A Better Auth error code. The variant name is the wire code.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($code,)*
        }

        impl ErrorCode {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$code => stringify!($code),)*
                }
            }

            /// Better Auth's default message for the code.
            pub fn message(self) -> &'static str {
                match self {
                    $(Self::$code => $message,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(Self::$code => StatusCode::$status,)*
                }
            }
        }
    };
}

error_codes! {
    BAD_REQUEST => BAD_REQUEST, "Invalid JSON in request body";
    VALIDATION_ERROR => BAD_REQUEST, "Validation Error";
    UNSUPPORTED_MEDIA_TYPE => UNSUPPORTED_MEDIA_TYPE, "Unsupported media type";
    UNAUTHORIZED => UNAUTHORIZED, "Unauthorized";
    INTERNAL_SERVER_ERROR => INTERNAL_SERVER_ERROR, "Internal Server Error";
    INVALID_EMAIL => BAD_REQUEST, "Invalid email";
    INVALID_PASSWORD => BAD_REQUEST, "Invalid password";
    PASSWORD_TOO_SHORT => BAD_REQUEST, "Password too short";
    PASSWORD_TOO_LONG => BAD_REQUEST, "Password too long";
    INVALID_EMAIL_OR_PASSWORD => UNAUTHORIZED, "Invalid email or password";
    USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL => UNPROCESSABLE_ENTITY, "User already exists. Use another email.";
    FAILED_TO_CREATE_USER => UNPROCESSABLE_ENTITY, "Failed to create user";
    FAILED_TO_CREATE_SESSION => BAD_REQUEST, "Failed to create session";
    FAILED_TO_GET_SESSION => INTERNAL_SERVER_ERROR, "Failed to get session";
    EMAIL_PASSWORD_DISABLED => BAD_REQUEST, "Email and password is not enabled";
    EMAIL_PASSWORD_SIGN_UP_DISABLED => BAD_REQUEST, "Email and password sign up is not enabled";
    EMAIL_CAN_NOT_BE_UPDATED => BAD_REQUEST, "Email can not be updated";
    CREDENTIAL_ACCOUNT_NOT_FOUND => BAD_REQUEST, "Credential account not found";
    SESSION_EXPIRED => BAD_REQUEST, "Session expired. Re-authenticate to perform this action.";
    SESSION_NOT_FRESH => FORBIDDEN, "Session is not fresh";
    INVALID_TOKEN => NOT_FOUND, "Invalid token";
    USER_NOT_FOUND => BAD_REQUEST, "User not found";
    INVALID_ORIGIN => FORBIDDEN, "Invalid origin";
    MISSING_OR_NULL_ORIGIN => FORBIDDEN, "Missing or null Origin";
    INVALID_CALLBACK_URL => FORBIDDEN, "Invalid callbackURL";
    INVALID_REDIRECT_URL => FORBIDDEN, "Invalid redirectURL";
    CROSS_SITE_NAVIGATION_LOGIN_BLOCKED => FORBIDDEN, "Cross-site navigation login blocked. This request appears to be a CSRF attack.";
    METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED => METHOD_NOT_ALLOWED, "POST method requires deferSessionRefresh to be enabled in session config";
    TOO_MANY_REQUESTS => TOO_MANY_REQUESTS, "Too many requests. Please try again later.";
    EMAIL_NOT_VERIFIED => FORBIDDEN, "Email not verified";
    VERIFICATION_EMAIL_NOT_ENABLED => BAD_REQUEST, "Verification email isn't enabled";
    EMAIL_ALREADY_VERIFIED => BAD_REQUEST, "Email is already verified";
    EMAIL_MISMATCH => BAD_REQUEST, "Email mismatch";
    TOKEN_EXPIRED => UNAUTHORIZED, "Token expired";
    INVALID_USER => UNAUTHORIZED, "Invalid user";
    RESET_PASSWORD_DISABLED => BAD_REQUEST, "Reset password isn't enabled";
    CHANGE_EMAIL_DISABLED => BAD_REQUEST, "Change email is disabled";
    YOU_ARE_NOT_ALLOWED_TO_LIST_AUDIT_LOGS => FORBIDDEN, "You are not allowed to list audit logs";
}

/// An error as Better Auth reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// `{"message","code"}`. The status is the code's unless an endpoint says otherwise
    /// (Better Auth answers `INVALID_TOKEN` with 400, 401 or 404 depending on where).
    Api {
        code: ErrorCode,
        message: Cow<'static, str>,
        status: StatusCode,
    },
    /// `{"message"}` alone: Better Auth has a few errors without a code
    /// (e.g. "No fields to update").
    MessageOnly {
        status: StatusCode,
        message: Cow<'static, str>,
    },
    /// `{"message","code"}` with a code of the application's own, e.g. from a before hook
    /// (`EMAIL_DOMAIN_BLOCKED`).
    Custom {
        status: StatusCode,
        code: Cow<'static, str>,
        message: Cow<'static, str>,
    },
    /// An empty body with this status (e.g. 404 from a disabled endpoint).
    Empty(StatusCode),
    /// The password hashing pool is saturated: 429 with `X-Retry-After`.
    Saturated { retry_after_secs: u64 },
    /// Something failed that the caller cannot fix. Logged with its cause; the client sees
    /// a bare 500.
    Internal(String),
}

impl AuthError {
    pub fn code(code: ErrorCode) -> Self {
        Self::Api {
            code,
            message: Cow::Borrowed(code.message()),
            status: code.status(),
        }
    }

    pub fn with_message(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Api {
            code,
            message: message.into(),
            status: code.status(),
        }
    }

    /// The same error answered with another status.
    pub fn with_status(self, new_status: StatusCode) -> Self {
        match self {
            Self::Api { code, message, .. } => Self::Api {
                code,
                message,
                status: new_status,
            },
            other => other,
        }
    }

    pub fn message_only(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::MessageOnly {
            status,
            message: message.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Api { status, .. } => *status,
            Self::MessageOnly { status, .. }
            | Self::Custom { status, .. }
            | Self::Empty(status) => *status,
            Self::Saturated { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The wire code, when the error has one.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Api { code, message, .. } => write!(f, "{}: {message}", code.as_str()),
            Self::MessageOnly { message, .. } => f.write_str(message),
            Self::Custom { code, message, .. } => write!(f, "{code}: {message}"),
            Self::Empty(status) => write!(f, "{status}"),
            Self::Saturated { .. } => f.write_str("password hashing saturated"),
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
        }
    }
}

impl std::error::Error for AuthError {}

impl From<ErrorCode> for AuthError {
    fn from(code: ErrorCode) -> Self {
        Self::code(code)
    }
}

impl From<sqlx::Error> for AuthError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(format!("database: {error}"))
    }
}

impl From<authlog_eventstore::StoreError> for AuthError {
    fn from(error: authlog_eventstore::StoreError) -> Self {
        Self::internal(error)
    }
}

impl From<authlog_domain::services::HashingSaturated> for AuthError {
    fn from(_: authlog_domain::services::HashingSaturated) -> Self {
        Self::Saturated {
            retry_after_secs: 1,
        }
    }
}

impl From<authlog_domain::values::InvalidInput> for AuthError {
    fn from(error: authlog_domain::values::InvalidInput) -> Self {
        use authlog_domain::values::InvalidInput;
        Self::code(match error {
            InvalidInput::Email => ErrorCode::INVALID_EMAIL,
            InvalidInput::PasswordTooShort => ErrorCode::PASSWORD_TOO_SHORT,
            InvalidInput::PasswordTooLong => ErrorCode::PASSWORD_TOO_LONG,
        })
    }
}
