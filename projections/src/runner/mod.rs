//! The async projection runner: keeps one projection up to date with the log, a moment
//! behind it.
//!
//! - **Checkpoint.** The projection's cursor lives in its `projection_state` row and moves in
//!   the same transaction as the rows of the batch it covers: after a crash the runner goes
//!   on exactly where the tables are. The move is a compare-and-set (cursor and version), so
//!   a second runner or a rebuild that moved the row first makes this runner's batch roll
//!   back and read again instead of applying twice.
//! - **Batches.** Up to `batch_events` events per transaction, read with the safe cursor and
//!   applied in bulk ([`Projection::apply_batch`]).
//! - **One runner per projection.** On PostgreSQL a session advisory lock per projection:
//!   other instances wait on standby and take over when the holder goes away.
//! - **Failures.** A batch that fails is retried event by event to find the culprit, which is
//!   tried again a few times at once (a lost connection, a deadlock), then recorded in
//!   `failed_events`. A projection that guards access halts there and retries the event with
//!   backoff, applying nothing after it; one that may skip goes on and retries the event on
//!   the side ([`crate::OnFailure`]).

use std::sync::Arc;
use std::time::Duration;

use authlog_eventstore::{Cursor, Db, EventStore, ReadPace, RecordedEvent, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::watch;

mod failures;

use crate::failed::{self, Backoff};
use crate::lock::AdvisoryLock;
use crate::rebuild::begin_bulk;
use crate::state::{self, ProjectionState};
use crate::{Projection, Target};

/// Tuning of a [`Runner`].
#[derive(Debug, Clone, Copy)]
pub struct RunnerSettings {
    /// Events per transaction.
    pub batch_events: i64,
    /// How often to look at the log when no local commit wakes the runner (commits of other
    /// instances do not), and how often a standby tries to take over.
    pub poll_interval: Duration,
    /// After a local commit wakes the runner, it waits this long before reading, so that the
    /// commits of a busy moment are applied in one transaction instead of one each (under
    /// sign-in load this halves the statements per request on SQLite).
    pub coalesce: Duration,
    /// While commits keep coming, the runner reads at most once per this interval (see
    /// [`ReadPace`]): one transaction per interval instead of one per burst of commits.
    pub min_read_interval: Duration,
    /// Attempts at a failing event before it is recorded as failed.
    pub immediate_attempts: u32,
    /// Waits between the recorded attempts.
    pub backoff: Backoff,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            batch_events: 1000,
            poll_interval: Duration::from_millis(250),
            coalesce: ReadPace::COALESCE,
            min_read_interval: ReadPace::MIN_INTERVAL,
            immediate_attempts: 3,
            backoff: Backoff::default(),
        }
    }
}

/// What one [`Runner::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Applied this many events and moved the checkpoint past them.
    Applied(usize),
    /// Nothing new in the log.
    Idle,
    /// Recorded the event at `position` as failed and went on without it.
    Skipped { position: i64 },
    /// Stopped at the event at `position`; it is tried again at `until`.
    Halted { position: i64, until: DateTime<Utc> },
    /// Someone else (another runner, a rebuild) moved the checkpoint first; nothing applied.
    Moved,
    /// The tables were built by another version of the projection (a rebuild by a newer
    /// instance): this runner must stop.
    Superseded { stored_version: i32 },
}

/// Keeps one async projection up to date.
pub struct Runner {
    store: EventStore,
    projection: Arc<dyn Projection>,
    settings: RunnerSettings,
}

impl Runner {
    pub fn new(store: EventStore, projection: Arc<dyn Projection>) -> Self {
        Self::with_settings(store, projection, RunnerSettings::default())
    }

    pub fn with_settings(
        store: EventStore,
        projection: Arc<dyn Projection>,
        settings: RunnerSettings,
    ) -> Self {
        Self {
            store,
            projection,
            settings,
        }
    }

    /// Runs until `stop` turns true (or its sender goes away): waits to be the one runner of
    /// this projection, then applies batches as the log grows. Errors of the database are
    /// logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let name = self.projection.name();
        let mut committed = self.store.subscribe();
        while !*stop.borrow() {
            let Some(mut lock) = self.lead(&mut stop).await else {
                return;
            };
            tracing::info!(projection = name, "projection runner started");
            let mut checked_at = tokio::time::Instant::now();
            let mut retried_at = tokio::time::Instant::now();
            let mut pace = ReadPace::new(self.settings.coalesce, self.settings.min_read_interval);
            while !*stop.borrow() {
                if checked_at.elapsed() > Duration::from_secs(5) {
                    checked_at = tokio::time::Instant::now();
                    if let Some(held) = lock.as_mut() {
                        if !held.is_held().await {
                            tracing::warn!(projection = name, "lost the runner lock; standing by");
                            break;
                        }
                    }
                }
                let step = self.step().await;
                if matches!(step, Ok(Step::Applied(applied)) if applied > 0) {
                    pace.found_events();
                }
                let wait = match step {
                    // A full batch: more is probably waiting.
                    Ok(Step::Applied(applied)) if applied as i64 >= self.settings.batch_events => {
                        continue
                    }
                    Ok(Step::Skipped { .. } | Step::Moved) => continue,
                    // A partial batch reached the end of the log: wait instead of asking
                    // again at once.
                    Ok(Step::Applied(_) | Step::Idle) => {
                        // On a clock, not only when idle: a busy log is never idle.
                        if retried_at.elapsed() >= self.settings.poll_interval {
                            retried_at = tokio::time::Instant::now();
                            if let Err(error) = self.retry_skipped().await {
                                tracing::warn!(projection = name, %error, "retrying skipped events failed");
                            }
                        }
                        self.settings.poll_interval
                    }
                    Ok(Step::Halted { until, .. }) => (until - Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        .min(self.settings.poll_interval * 4),
                    Ok(Step::Superseded { stored_version }) => {
                        tracing::error!(
                            projection = name,
                            stored_version,
                            running_version = self.projection.version(),
                            "the tables were rebuilt by another version; this runner stops"
                        );
                        if let Some(lock) = lock {
                            lock.release().await;
                        }
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(projection = name, %error, "projection runner error; retrying");
                        self.settings.poll_interval
                    }
                };
                tokio::select! {
                    _ = committed.changed() => pace.after_commit().await,
                    () = tokio::time::sleep(wait) => {}
                    stopping = stop.changed() => if stopping.is_err() { break },
                }
            }
            if let Some(lock) = lock {
                lock.release().await;
            }
        }
    }

    /// On PostgreSQL, waits for this projection's runner lock (`None` if stopped first). On
    /// SQLite there is one process, so nothing to wait for.
    async fn lead(&self, stop: &mut watch::Receiver<bool>) -> Option<Option<AdvisoryLock>> {
        let Db::Postgres(pool) = self.store.db() else {
            return Some(None);
        };
        let key = format!("authlog:runner:{}", self.projection.name());
        let mut standing_by = false;
        loop {
            match AdvisoryLock::try_acquire(pool, &key).await {
                Ok(Some(lock)) => return Some(Some(lock)),
                Ok(None) if !standing_by => {
                    standing_by = true;
                    tracing::info!(
                        projection = self.projection.name(),
                        "another instance runs this projection; standing by"
                    );
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "taking the runner lock failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.poll_interval * 4) => {}
                stopping = stop.changed() => if stopping.is_err() { return None },
            }
            if *stop.borrow() {
                return None;
            }
        }
    }

    /// Applies the next batch (or retries the event the projection is halted on).
    pub async fn step(&self) -> Result<Step, StoreError> {
        let db = self.store.db();
        let (name, version) = (self.projection.name(), self.projection.version());
        let Some(state) = state::load(db, name).await? else {
            state::insert_if_missing(db, name, version).await?;
            return Ok(Step::Moved);
        };
        if state.version != version {
            return Ok(Step::Superseded {
                stored_version: state.version,
            });
        }
        if let Some(halted) = failed::halted(db, name).await? {
            if halted.next_attempt_at > Utc::now() {
                return Ok(Step::Halted {
                    position: halted.position,
                    until: halted.next_attempt_at,
                });
            }
            let events = self.store.read_all(state.cursor, 1).await?;
            match events.first() {
                // Held back by the safe cursor (an older transaction still running).
                None => return Ok(Step::Idle),
                Some(next) if next.global_position != halted.position => {
                    // The checkpoint moved past it (a rebuild): the record is stale.
                    let mut tx = db.begin().await?;
                    failed::resolve(&mut tx, name, halted.position).await?;
                    tx.commit().await?;
                    return Ok(Step::Moved);
                }
                Some(_) => {}
            }
            return self
                .apply_one_by_one(&state, &events, Some(halted.position))
                .await;
        }
        let events = self
            .store
            .read_all(state.cursor, self.settings.batch_events)
            .await?;
        if events.is_empty() {
            return Ok(Step::Idle);
        }
        match self.apply(state.cursor, &events, None).await {
            Ok(true) => Ok(Step::Applied(events.len())),
            Ok(false) => Ok(Step::Moved),
            Err(error) => {
                if events.len() > 1 {
                    tracing::debug!(projection = name, %error, "a batch failed; applying its events one by one");
                }
                self.apply_one_by_one(&state, &events, None).await
            }
        }
    }

    /// Applies `events` and moves the checkpoint from `from` past them, in one transaction,
    /// clearing the failure record at `resolving` with them. `false`: the checkpoint was not
    /// at `from` any more, and nothing was applied.
    async fn apply(
        &self,
        from: Cursor,
        events: &[RecordedEvent],
        resolving: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let Some(last) = events.last() else {
            return Ok(true);
        };
        let name = self.projection.name();
        let mut tx = begin_bulk(&self.store).await?;
        if !state::advance(
            &mut tx,
            name,
            self.projection.version(),
            from,
            last.cursor(),
        )
        .await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        self.projection
            .apply_batch(&mut tx, events, Target::Live)
            .await?;
        if let Some(position) = resolving {
            failed::resolve(&mut tx, name, position).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Applies events one at a time, to find the one that fails and deal with it by the
    /// projection's policy. `halted` is the position of the event the projection is halted
    /// on, whose record goes once it applies.
    async fn apply_one_by_one(
        &self,
        state: &ProjectionState,
        events: &[RecordedEvent],
        halted: Option<i64>,
    ) -> Result<Step, StoreError> {
        let mut cursor = state.cursor;
        for event in events {
            let resolving = halted.filter(|position| *position == event.global_position);
            let mut attempt = 0;
            let error = loop {
                attempt += 1;
                match self
                    .apply(cursor, std::slice::from_ref(event), resolving)
                    .await
                {
                    Ok(true) => break None,
                    Ok(false) => return Ok(Step::Moved),
                    Err(error) if attempt >= self.settings.immediate_attempts => break Some(error),
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            match error {
                None => cursor = event.cursor(),
                Some(error) => return self.fail(cursor, event, &error).await,
            }
        }
        Ok(Step::Applied(events.len()))
    }
}
