//! The application service and its HTTP face.
//!
//! Layout:
//! - [`config`] - `AuthConfig`, the typed settings every part reads (built by the binary).
//! - [`error`] - Better Auth's error codes, messages and statuses, and `AuthError`.
//! - [`crypto`] - Argon2id on a bounded pool, random ids and tokens, cookie signatures.
//! - [`auth`] - `Auth`, the application service: `sign_up_email`, `sign_in_email`,
//!   `session`, `list_sessions`, ... callable in-process like Better Auth's `auth.api`.
//! - [`http`] - the axum router with Better Auth's routes, cookies, origin checks and
//!   request parsing.
//!
//! Architecture invariant: business rules live in `authlog_domain`; this crate loads what
//! the rules need, calls them, appends what they decide, and speaks HTTP.

pub mod auth;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;

pub use auth::Auth;
pub use config::AuthConfig;
pub use error::{AuthError, ErrorCode};
