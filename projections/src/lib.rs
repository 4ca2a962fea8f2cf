//! Projections: tables built from the log. They copy facts; they decide nothing.
//!
//! Layout:
//! - [`Projection`] - the trait every projection implements (name, version, tables, how to
//!   apply a batch of events to a [`Target`]), and [`Registry`]: which ones a server runs,
//!   inline or async.
//! - [`users`], [`sessions`], [`accounts`], [`verifications`] - the inline projections the
//!   hot path reads, run inside the append transaction; [`inline`] lists them for the event
//!   store. [`audit`] - the audit trail, an async projection.
//! - [`read`] - the queries the application runs against those tables.
//! - [`runner`] - keeps an async projection up to date: checkpoint, batches, one runner per
//!   projection across instances ([`lock`]), failed events ([`failed`]).
//! - [`rebuild`] - rebuilds a projection from the log into shadow tables while the server
//!   serves, compares and swaps; [`versions`] runs it at start-up for outdated projections.
//! - [`state`] - each projection's version and cursor; [`status`] - position and lag.
//! - `fold`, `bulk` and `decode` (private) - bulk mode: a batch of events folded into one
//!   change per row, written with multi-row statements, payloads decoded without copies.

pub mod accounts;
pub mod audit;
mod bulk;
mod decode;
pub mod failed;
mod fold;
pub mod lock;
pub mod read;
pub mod rebuild;
pub mod registry;
pub mod runner;
pub mod sessions;
pub mod state;
pub mod status;
pub mod users;
pub mod verifications;
pub mod versions;

pub use registry::{Mode, Registry};

use std::borrow::Cow;
use std::sync::Arc;

use authlog_eventstore::{InlineProjection, RecordedEvent, Tx};
use decode::decode;

/// A table (or set of tables) derived from the log.
///
/// Whether a projection runs inline (inside the append transaction) or asynchronously (in
/// the runner, behind the log) is decided where it is registered, not here: the same code
/// serves both, and the rebuild machinery replays either in bulk.
#[async_trait::async_trait]
pub trait Projection: Send + Sync {
    /// Stable name, used for its state row and the CLI (`users`, `sessions`, ...).
    fn name(&self) -> &'static str;
    /// Bumped when the rows change shape or meaning; a projection whose tables were built by
    /// another version is rebuilt from the log at start-up, before it is served.
    fn version(&self) -> i32;
    /// The tables this projection owns, with the columns that make up a row (for
    /// rebuild comparison). The first column is the primary key.
    fn tables(&self) -> &'static [Table];
    /// What the async runner does with an event this projection cannot apply. A projection
    /// that guards access (sessions, bans, revocations) must halt: skipping an event could
    /// leave a revoked session alive. A cosmetic one (statistics, a feed) may skip it.
    fn on_failure(&self) -> OnFailure {
        OnFailure::Halt
    }
    /// Applies `events`, in log order, to the tables of `target`. Events the projection does
    /// not care about are ignored. Only the state after the last event has to be written,
    /// which lets a batch be folded into a few multi-row statements.
    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error>;
    /// Applies one event to the live tables (the inline path).
    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), sqlx::Error> {
        self.apply_batch(tx, std::slice::from_ref(event), Target::Live)
            .await
    }
}

/// What the runner does when a projection fails to apply an event (after retrying it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Stop at the event, record it in `failed_events`, and keep retrying it: nothing after
    /// it is applied until it goes through.
    Halt,
    /// Record the event in `failed_events`, go on with the next one, and retry the recorded
    /// one on the side. Only for projections that tolerate events applied out of order.
    Skip,
}

/// Which copy of a projection's tables a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The tables the application reads.
    Live,
    /// The shadow tables a rebuild fills (`<table>_shadow`) before swapping them in.
    Shadow,
}

/// What a shadow table's name adds to its live table's name.
pub const SHADOW_SUFFIX: &str = "_shadow";

impl Target {
    /// The name of `table` in this target.
    pub fn table(self, table: &'static str) -> Cow<'static, str> {
        match self {
            Self::Live => Cow::Borrowed(table),
            Self::Shadow => Cow::Owned(format!("{table}{SHADOW_SUFFIX}")),
        }
    }
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
    Registry::standard().inline().to_vec()
}

/// Wraps projections for [`authlog_eventstore::EventStore::open`].
pub fn inline(projections: &[Arc<dyn Projection>]) -> Vec<Arc<dyn InlineProjection>> {
    projections
        .iter()
        .map(|projection| Arc::new(Inline(projection.clone())) as Arc<dyn InlineProjection>)
        .collect()
}
