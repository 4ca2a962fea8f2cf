//! Projection versions at start-up: tables built by another version of a projection's code
//! are rebuilt from the log, online, before this instance serves them.
//!
//! "Online": other instances (still on the old version) keep serving and appending while
//! the new tables are replayed next to the live ones; only the final swap holds the write
//! lock, for a moment. An old instance still running after the swap keeps writing rows the
//! old way, and an old async runner stops when it sees the new version (see `runner`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use authlog_eventstore::{EventStore, StoreError};

use crate::rebuild::{self, RebuildProgress, RebuildReport};
use crate::registry::{Mode, Registry};
use crate::state;

/// Rebuilds every outdated projection of `registry`, one after the other, logging progress;
/// records async projections seen for the first time (their runner builds them from the
/// start of the log). Returns the reports of the rebuilds that ran.
pub async fn ensure_current(
    store: &EventStore,
    registry: &Registry,
) -> Result<Vec<RebuildReport>, StoreError> {
    let mut reports = Vec::new();
    for (projection, mode) in registry.all() {
        let name = projection.name();
        let stored = state::load(store.db(), name).await?;
        if stored.is_none() && mode == Mode::Async {
            state::insert_if_missing(store.db(), name, projection.version()).await?;
            continue;
        }
        if !rebuild::is_outdated(store, projection.as_ref(), mode).await? {
            continue;
        }
        tracing::warn!(
            projection = name,
            built_by_version = stored.map(|state| state.version),
            version = projection.version(),
            "projection tables were built by another version: rebuilding them from the log before serving"
        );
        let logged_at = Mutex::new(Instant::now());
        let log_progress = |progress: RebuildProgress| {
            let mut logged_at = logged_at.lock().expect("progress lock");
            if logged_at.elapsed() >= Duration::from_secs(2) {
                *logged_at = Instant::now();
                tracing::info!(projection = name, phase = ?progress.phase, replayed = progress.replayed, total = progress.total, "rebuilding");
            }
        };
        let Some(report) =
            rebuild::rebuild_if_outdated(store, projection, mode, &log_progress).await?
        else {
            continue; // Another instance rebuilt it while we waited for the lock.
        };
        tracing::info!(
            projection = name,
            version = report.version,
            replayed = report.replayed,
            seconds = report.seconds,
            locked_seconds = report.locked_seconds,
            rows_changed = !report.is_identical(),
            "projection rebuilt and swapped in"
        );
        reports.push(report);
    }
    Ok(reports)
}
