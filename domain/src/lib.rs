//! The authlog domain: aggregates, commands, events, value types and the
//! `Services` traits through which the outside world reaches them.
//!
//! Layout:
//! - [`values`] - value types parsed at the edge (`Email`, `Password`, `Name`, ids, hashes).
//! - [`user`], [`session`], [`account`], [`verification`], [`attempt`] - one module per aggregate, each with its commands,
//!   events, errors and given/when/then tests.
//! - [`services`] - the traits aggregates call for work they must not do themselves.
//! - [`uniqueness`] - the unique claims (e.g. one user per email) that events imply.
//! - [`event`] - what every domain event can say about itself (type, version, stream).
//!
//! Architecture invariant: this crate does no IO. No database, no HTTP, no clock and no
//! random numbers: time, ids and hashing come in through commands or [`services`].

pub mod account;
pub mod attempt;
pub mod event;
pub mod services;
pub mod session;
pub mod uniqueness;
pub mod user;
pub mod values;
pub mod verification;

pub use event::StoredEvent;
