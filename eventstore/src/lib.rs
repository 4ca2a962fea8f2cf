//! The log: an append-only table of events on SQLite (embedded default) or PostgreSQL.
//!
//! Layout:
//! - [`db`] - the connection pools of either backend, write transactions, and the
//!   [`with_reader!`]/[`with_tx!`] macros that run one SQL text on whichever backend is live.
//! - [`migrate`] - the embedded, append-only migrations of `migrations/{sqlite,postgres}`.
//! - [`event`] - what goes in (`NewEvent`, `StreamAppend`) and what comes out (`RecordedEvent`),
//!   with the metadata every event carries.
//! - [`store`] - `EventStore`: append with expected versions, unique constraints and inline
//!   projections in one transaction; stream loads; the safe cursor over the whole log.
//! - [`tokens`] - the tokens mailed to users, derived from their verification id.
//! - [`pace`] - how the log's followers pace their reads after local commits.
//! - [`scan`] - reads beyond the safe cursor: inside a write transaction, single events, the
//!   head, a reader's lag, one aggregate's history.
//! - [`unique`] - HMAC of unique values under a key kept in the `keys` table.
//! - [`upcast`] - upcasters from older event versions to the current one.
//!
//! Architecture invariant: nothing here knows HTTP, and nothing here decides business rules:
//! it stores what the domain decided and refuses only what would break the log's invariants
//! (a stale expected version, a taken unique value).

pub mod db;
pub mod event;
pub mod migrate;
pub mod pace;
pub mod scan;
mod sqlite_readers;
mod sqlite_writer;
pub mod store;
pub mod tokens;
pub mod unique;
pub mod upcast;

pub use db::{Backend, Db, SqliteWriter, Tx};
pub use event::{Actor, AppendRequest, Cursor, Metadata, NewEvent, RecordedEvent, StreamAppend};
pub use pace::ReadPace;
pub use scan::{Lag, LogScanner, RawBatch};
pub use store::{AppendError, EventStore, InlineProjection, StoreError};
pub use upcast::{Upcaster, Upcasters};

/// Milliseconds since the Unix epoch: the one timestamp representation in every table.
pub fn to_millis(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

/// The inverse of [`to_millis`].
pub fn from_millis(millis: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

#[cfg(feature = "testing")]
pub mod testing;
