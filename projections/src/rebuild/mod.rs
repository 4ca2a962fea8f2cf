//! Rebuilding a projection from the log while the server keeps serving.
//!
//! 1. Shadow tables with the live tables' schema are created (`shadow`).
//! 2. The whole log is replayed into them in bulk, batch by batch (`replay`); the live
//!    tables keep serving and keep being updated by appends meanwhile.
//!    SQLite replays into a scratch file first (`scratch`) and copies the result in.
//! 3. PostgreSQL: the shadows get the live tables' secondary indexes.
//! 4. The replay catches up with what was appended meanwhile.
//! 5. One transaction takes the write lock, applies the last events, compares shadow and
//!    live row for row ([`compare`]) and, unless it is a dry run, swaps the shadows in:
//!    - inline projections: the lock is on the live tables (SQLite: the single writer's
//!      `BEGIN IMMEDIATE`; PostgreSQL: `LOCK ... IN EXCLUSIVE MODE`, which lets readers
//!      through). Appends wait, so after the last events the shadow is exactly what the live
//!      tables hold, and an append that was waiting applies to the swapped-in table.
//!    - async projections: the lock is the projection's state row (the runner's checkpoint);
//!      the live tables are brought to the same position as the shadow before comparing.
//!
//! On PostgreSQL an advisory lock lets one rebuild of a projection run at a time (a CLI
//! rebuild and a version rebuild at start-up take turns).

pub mod compare;
mod finish;
mod in_place;
mod replay;
mod scratch;
mod shadow;

use std::sync::Arc;
use std::time::{Duration, Instant};

use authlog_eventstore::{Cursor, Db, EventStore, StoreError};
use serde::Serialize;

pub use compare::{ColumnDifference, DifferenceKind, RowDifference, TableComparison};
pub use in_place::{rebuild_in_place, snapshot};

use crate::lock::AdvisoryLock;
use crate::registry::Mode;
use crate::{failed, state, Projection, Target};
pub(crate) use replay::begin_bulk;
use replay::{replay, BATCH_EVENTS};
use scratch::Scratch;
use shadow::ShadowTable;

/// Differences listed per table in a report.
const SAMPLE_SIZE: usize = 5;
/// Events the write lock may wait for; with more, the rebuild first waits for the safe
/// cursor to move, up to `HORIZON_WAIT`.
const MAX_EVENTS_UNDER_LOCK: i64 = BATCH_EVENTS;
const HORIZON_WAIT: Duration = Duration::from_secs(30);

/// What a rebuild does at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildOptions {
    /// Swap the rebuilt tables in. Without it, the rebuild only compares (a dry run) and
    /// drops the shadows.
    pub swap: bool,
}

/// Where a rebuild is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Replaying the log into the shadow tables.
    Replaying,
    /// SQLite: copying the tables replayed in the scratch file into the live file.
    Copying,
    /// PostgreSQL: building the shadow tables' secondary indexes.
    Indexing,
    /// Replaying what was appended during the first replay.
    CatchingUp,
    /// Holding the write lock: last events, comparison, swap.
    Swapping,
}

/// A progress report: events replayed so far out of (about) `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildProgress {
    pub phase: Phase,
    pub replayed: u64,
    pub total: u64,
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebuildReport {
    pub projection: &'static str,
    pub mode: &'static str,
    pub version: i32,
    /// Events read from the log and applied to the shadow tables.
    pub replayed: u64,
    pub seconds: f64,
    /// How long the write lock was held (appends waited this long).
    pub locked_seconds: f64,
    /// The global position the rebuilt tables reflect.
    pub position: i64,
    pub tables: Vec<TableComparison>,
    pub swapped: bool,
}

impl RebuildReport {
    /// Whether the rebuilt tables held exactly the live rows.
    pub fn is_identical(&self) -> bool {
        self.tables.iter().all(TableComparison::is_identical)
    }

    pub fn events_per_second(&self) -> f64 {
        self.replayed as f64 / self.seconds.max(1e-9)
    }
}

/// Rebuilds `projection` from the log (see the module documentation).
pub async fn rebuild(
    store: &EventStore,
    projection: &Arc<dyn Projection>,
    mode: Mode,
    options: RebuildOptions,
    progress: &(dyn Fn(RebuildProgress) + Send + Sync),
) -> Result<RebuildReport, StoreError> {
    match exclusive(store, projection, mode, options, progress, false).await? {
        Some(report) => Ok(report),
        None => unreachable!("an unconditional rebuild always runs"),
    }
}

/// Rebuilds and swaps in `projection` if its tables were built by another version of its
/// code (or, for an inline projection, never recorded). Checked under the rebuild lock, so
/// instances starting together rebuild once. `None`: it was current.
pub async fn rebuild_if_outdated(
    store: &EventStore,
    projection: &Arc<dyn Projection>,
    mode: Mode,
    progress: &(dyn Fn(RebuildProgress) + Send + Sync),
) -> Result<Option<RebuildReport>, StoreError> {
    let options = RebuildOptions { swap: true };
    exclusive(store, projection, mode, options, progress, true).await
}

/// Whether `projection`'s tables need a rebuild before they are served.
pub async fn is_outdated(
    store: &EventStore,
    projection: &dyn Projection,
    mode: Mode,
) -> Result<bool, StoreError> {
    Ok(match state::load(store.db(), projection.name()).await? {
        Some(state) => state.version != projection.version(),
        // An async projection never run starts from the beginning of the log anyway.
        None => mode == Mode::Inline,
    })
}

/// Runs a rebuild holding the projection's rebuild lock (PostgreSQL), dropping the shadow
/// tables if it fails.
async fn exclusive(
    store: &EventStore,
    projection: &Arc<dyn Projection>,
    mode: Mode,
    options: RebuildOptions,
    progress: &(dyn Fn(RebuildProgress) + Send + Sync),
    only_if_outdated: bool,
) -> Result<Option<RebuildReport>, StoreError> {
    let lock = match store.db() {
        Db::Postgres(pool) => Some(
            AdvisoryLock::acquire(pool, &format!("authlog:rebuild:{}", projection.name())).await?,
        ),
        Db::Sqlite { .. } => None,
    };
    let result = if only_if_outdated && !is_outdated(store, projection.as_ref(), mode).await? {
        Ok(None)
    } else {
        let mut shadows = Vec::new();
        let result = run(store, projection, mode, options, progress, &mut shadows).await;
        if result.is_err() && !shadows.is_empty() {
            if let Err(error) = shadow::drop_all(store.db(), &shadows).await {
                tracing::warn!(%error, "could not drop the shadow tables of a failed rebuild");
            }
        }
        result.map(Some)
    };
    if let Some(lock) = lock {
        lock.release().await;
    }
    result
}

async fn run(
    store: &EventStore,
    projection: &Arc<dyn Projection>,
    mode: Mode,
    options: RebuildOptions,
    progress: &(dyn Fn(RebuildProgress) + Send + Sync),
    shadows: &mut Vec<ShadowTable>,
) -> Result<RebuildReport, StoreError> {
    let started = Instant::now();
    let total = store.count().await?.max(0) as u64;
    let report = |phase, replayed: u64| {
        progress(RebuildProgress {
            phase,
            replayed,
            total: total.max(replayed),
        });
    };
    for table in projection.tables() {
        shadows.push(shadow::create(store.db(), table.name).await?);
    }
    let scratch = Scratch::create(store.db(), projection.name(), shadows).await?;
    report(Phase::Replaying, 0);
    let replayed = replay(
        store,
        projection.as_ref(),
        Cursor::default(),
        Target::Shadow,
        scratch.as_ref(),
        &mut |done| report(Phase::Replaying, done),
    )
    .await;
    let (cursor, replayed) = match (replayed, scratch) {
        (Ok(replayed), Some(scratch)) => {
            report(Phase::Copying, replayed.1);
            scratch.copy_into(shadows).await?;
            replayed
        }
        (Ok(replayed), None) => {
            report(Phase::Indexing, replayed.1);
            for shadow in shadows.iter_mut() {
                shadow::build_indexes(store.db(), shadow).await?;
            }
            replayed
        }
        (Err(error), Some(scratch)) => {
            scratch.discard().await;
            return Err(error);
        }
        (Err(error), None) => return Err(error),
    };
    let (cursor, mut replayed) =
        catch_up(store, projection.as_ref(), cursor, replayed, &report).await?;

    report(Phase::Swapping, replayed);
    let locked_at = Instant::now();
    let mut tx = store.db().begin().await?;
    let (cursor, last_events) = match mode {
        Mode::Inline => finish::finish_inline(store, projection.as_ref(), &mut tx, cursor).await?,
        Mode::Async => finish::finish_async(store, projection.as_ref(), &mut tx, cursor).await?,
    };
    replayed += last_events;
    let mut tables = Vec::new();
    for (table, shadow) in projection.tables().iter().zip(shadows.iter()) {
        tables.push(compare::compare(&mut tx, table, &shadow.shadow, SAMPLE_SIZE).await?);
    }
    for shadow in shadows.iter() {
        if options.swap {
            shadow::swap(&mut tx, shadow).await?;
        } else {
            shadow::drop_in(&mut tx, shadow).await?;
        }
    }
    if options.swap {
        state::record_rebuild(&mut tx, projection.name(), projection.version(), cursor).await?;
        failed::clear(&mut tx, projection.name()).await?;
    }
    tx.commit().await?;
    shadows.clear();
    Ok(RebuildReport {
        projection: projection.name(),
        mode: mode.as_str(),
        version: projection.version(),
        replayed,
        seconds: started.elapsed().as_secs_f64(),
        locked_seconds: locked_at.elapsed().as_secs_f64(),
        position: cursor.position,
        tables,
        swapped: options.swap,
    })
}

/// Replays what was appended since `cursor`, until the rest of the log is small enough to
/// apply under the write lock. On PostgreSQL the safe cursor stops below the oldest
/// transaction running anywhere on the cluster, so one old transaction elsewhere can hold the
/// replay far behind the log; what it holds back would be applied under the lock, so this
/// waits a while (`HORIZON_WAIT`) for it to end. Returns the cursor and the events replayed
/// in all.
async fn catch_up(
    store: &EventStore,
    projection: &dyn Projection,
    mut cursor: Cursor,
    mut replayed: u64,
    report: &(dyn Fn(Phase, u64) + Sync),
) -> Result<(Cursor, u64), StoreError> {
    report(Phase::CatchingUp, replayed);
    let waiting_since = Instant::now();
    let mut warned = false;
    loop {
        let before = replayed;
        let (caught_up_to, caught_up) = replay(
            store,
            projection,
            cursor,
            Target::Shadow,
            None,
            &mut |done| report(Phase::CatchingUp, before + done),
        )
        .await?;
        (cursor, replayed) = (caught_up_to, replayed + caught_up);
        let behind = store.lag(cursor).await?.events;
        if behind <= MAX_EVENTS_UNDER_LOCK || waiting_since.elapsed() >= HORIZON_WAIT {
            return Ok((cursor, replayed));
        }
        if caught_up == 0 {
            if !warned {
                warned = true;
                let name = projection.name();
                tracing::warn!(projection = name, behind, "an older transaction holds the safe cursor back; waiting before taking the write lock");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
