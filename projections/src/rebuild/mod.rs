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
mod in_place;
mod replay;
mod scratch;
mod shadow;

use std::sync::Arc;
use std::time::{Duration, Instant};

use authlog_eventstore::{Cursor, Db, EventStore, RecordedEvent, StoreError, Tx};
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
    let (cursor, mut replayed) = match (replayed, scratch) {
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
    // On PostgreSQL the safe cursor stops below the oldest transaction running anywhere on
    // the cluster, so one old transaction elsewhere can hold the replay far behind the log.
    // What it holds back would be applied under the write lock: wait a while for it to end.
    report(Phase::CatchingUp, replayed);
    let waiting_since = Instant::now();
    let (mut cursor, mut warned) = (cursor, false);
    loop {
        let before_catch_up = replayed;
        let (caught_up_to, caught_up) = replay(
            store,
            projection.as_ref(),
            cursor,
            Target::Shadow,
            None,
            &mut |done| report(Phase::CatchingUp, before_catch_up + done),
        )
        .await?;
        (cursor, replayed) = (caught_up_to, replayed + caught_up);
        let behind = store.lag(cursor).await?.events;
        if behind <= MAX_EVENTS_UNDER_LOCK || waiting_since.elapsed() >= HORIZON_WAIT {
            break;
        }
        if caught_up == 0 {
            if !warned {
                warned = true;
                tracing::warn!(
                projection = projection.name(),
                behind,
                "an older transaction holds the log's safe cursor back; waiting for it to end before taking the write lock"
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    report(Phase::Swapping, replayed);
    let locked_at = Instant::now();
    let mut tx = store.db().begin().await?;
    let (cursor, last_events) = match mode {
        Mode::Inline => finish_inline(store, projection.as_ref(), &mut tx, cursor).await?,
        Mode::Async => finish_async(store, projection.as_ref(), &mut tx, cursor).await?,
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

/// Inline projections: holds the live tables' write lock and applies the events committed
/// since the replay's last read. Returns the final cursor and the events applied.
async fn finish_inline(
    store: &EventStore,
    projection: &dyn Projection,
    tx: &mut Tx,
    mut cursor: Cursor,
) -> Result<(Cursor, u64), StoreError> {
    if let Tx::Postgres(transaction) = tx {
        // EXCLUSIVE lets readers in and keeps writers out; every transaction that has
        // written to these tables has committed once it is granted.
        let tables = projection
            .tables()
            .iter()
            .map(|table| table.name)
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query(&format!("LOCK TABLE {tables} IN EXCLUSIVE MODE"))
            .execute(&mut **transaction)
            .await?;
    }
    let mut applied = 0;
    loop {
        let events = store.read_after_in(tx, cursor, BATCH_EVENTS).await?;
        let Some(last) = events.last() else { break };
        cursor = last.cursor();
        applied += events.len() as u64;
        projection.apply_batch(tx, &events, Target::Shadow).await?;
    }
    Ok((cursor, applied))
}

/// Async projections: holds the runner's state row, catches the shadow up with the safe
/// head of the log and the live tables up with the shadow, so both reflect the same events.
async fn finish_async(
    store: &EventStore,
    projection: &dyn Projection,
    tx: &mut Tx,
    mut cursor: Cursor,
) -> Result<(Cursor, u64), StoreError> {
    let live_state = state::load_for_update(tx, projection.name()).await?;
    let mut live = live_state.map(|state| state.cursor).unwrap_or_default();
    let mut applied = 0;
    loop {
        let events = store.read_all(cursor, BATCH_EVENTS).await?;
        let Some(last) = events.last() else { break };
        cursor = last.cursor();
        applied += events.len() as u64;
        projection.apply_batch(tx, &events, Target::Shadow).await?;
    }
    if live > cursor {
        return Err(StoreError::Corrupt {
            position: live.position,
            reason: format!(
                "the checkpoint of {} is past the head of the log",
                projection.name()
            ),
        });
    }
    while live < cursor {
        let events: Vec<RecordedEvent> = store
            .read_all(live, BATCH_EVENTS)
            .await?
            .into_iter()
            .take_while(|event| event.cursor() <= cursor)
            .collect();
        let Some(last) = events.last() else { break };
        live = last.cursor();
        projection.apply_batch(tx, &events, Target::Live).await?;
    }
    Ok((cursor, applied))
}
