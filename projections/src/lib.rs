//! Projections: tables built from the log. They copy facts; they decide nothing.
//!
//! Layout:
//! - [`Projection`] - the trait every projection implements (name, version, tables, apply).
//! - [`users`], [`sessions`], [`accounts`], [`verifications`] - the inline projections the hot
//!   path reads, run inside the append transaction; [`inline`] lists them for the event store.
//! - [`read`] - the queries the application runs against those tables.
//! - [`rebuild`] - replays the log into a projection's tables and snapshots tables for
//!   comparison.

pub mod accounts;
pub mod audit;
pub mod read;
pub mod rebuild;
pub mod sessions;
pub mod users;
pub mod verifications;

use std::sync::Arc;

use authlog_eventstore::{InlineProjection, RecordedEvent, Tx};

/// A table (or set of tables) derived from the log.
#[async_trait::async_trait]
pub trait Projection: Send + Sync {
    /// Stable name, used for checkpoints and the CLI (`users`, `sessions`, ...).
    fn name(&self) -> &'static str;
    /// Bumped when the shape of the rows changes; a new version is rebuilt from the log.
    fn version(&self) -> i32;
    /// The tables this projection owns, with the columns that make up a row (for
    /// rebuild comparison). The first column is the primary key.
    fn tables(&self) -> &'static [Table];
    /// Applies one event. Events the projection does not care about are ignored.
    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), sqlx::Error>;
}

/// A table owned by a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// Runs a [`Projection`] inside the event store's append transaction.
struct Inline(Arc<dyn Projection>);

#[async_trait::async_trait]
impl InlineProjection for Inline {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), sqlx::Error> {
        self.0.apply(tx, event).await
    }
}

/// The inline projections of the core tables.
pub fn core() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(users::Users),
        Arc::new(sessions::Sessions),
        Arc::new(accounts::Accounts),
        Arc::new(verifications::Verifications),
    ]
}

/// The projections that run behind the log rather than inside the append: the audit trail.
pub fn asynchronous() -> Vec<Arc<dyn Projection>> {
    vec![Arc::new(audit::AuditLog)]
}

/// Wraps projections for [`authlog_eventstore::EventStore::open`].
pub fn inline(projections: &[Arc<dyn Projection>]) -> Vec<Arc<dyn InlineProjection>> {
    projections
        .iter()
        .map(|projection| Arc::new(Inline(projection.clone())) as Arc<dyn InlineProjection>)
        .collect()
}

/// Decodes a payload the projection subscribed to. A payload that does not decode is a
/// corrupt log, reported as a database decode error so the transaction rolls back.
fn decode<E: authlog_domain::StoredEvent>(event: &RecordedEvent) -> Result<E, sqlx::Error> {
    event.decode().map_err(|error| {
        sqlx::Error::Decode(
            format!(
                "event {} ({}) does not decode: {error}",
                event.global_position, event.event_type
            )
            .into(),
        )
    })
}
