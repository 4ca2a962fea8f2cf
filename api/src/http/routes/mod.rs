//! Handlers, one file per group of endpoints, and what they share: finding the caller's
//! session and the cookies that go with it (`caller`).

pub(super) mod audit;
mod caller;
pub(super) mod email;
pub(super) mod misc;
pub(super) mod session;
pub(super) mod sign;
pub(super) mod user;

pub(crate) use caller::{Found, Trust};
