//! The publisher: reads committed events in order with the safe cursor, publishes each, and
//! checkpoints after the sink has accepted it.

use std::sync::Arc;
use std::time::Duration;

use authlog_eventstore::{Cursor, EventStore, ReadPace};
use tokio::sync::watch;

use crate::{checkpoint, Sink};

/// How many events are read per batch.
const BATCH: i64 = 500;
/// How long to wait before retrying a sink that refused an event.
const RETRY: Duration = Duration::from_millis(500);
/// A safety net: also look at the log this often when no commit woke us (commits made by
/// other processes do not).
const POLL: Duration = Duration::from_millis(250);
/// The checkpoint is written at most this often. Writing it after every commit would double
/// the write transactions; after a crash, at most this much is offered again, and consumers
/// deduplicate on the event id.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Follows the log and feeds a sink.
pub struct Publisher {
    store: EventStore,
    sink: Arc<dyn Sink>,
    name: String,
    pace: ReadPace,
}

impl Publisher {
    /// `name` identifies the checkpoint (one per sink).
    pub fn new(store: EventStore, sink: Arc<dyn Sink>, name: impl Into<String>) -> Self {
        Self {
            store,
            sink,
            name: name.into(),
            pace: ReadPace::default(),
        }
    }

    /// How often it reads the log while commits keep coming (default: [`ReadPace::default`]).
    pub fn with_pace(mut self, pace: ReadPace) -> Self {
        self.pace = pace;
        self
    }

    /// Publishes until `stop` turns true. Each event is offered until the sink accepts it,
    /// so an outage delays events but never drops or reorders them.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), sqlx::Error> {
        let db = self.store.db().clone();
        let mut cursor = checkpoint::load(&db, &self.name).await?;
        match self.resume_point(&mut stop).await {
            Some(delivered) if delivered > cursor => {
                tracing::info!(publisher = %self.name, ?cursor, ?delivered, "the sink is ahead of the checkpoint; resuming after its last event");
                cursor = delivered;
            }
            _ => {}
        }
        let mut committed = self.store.subscribe();
        let mut saved = cursor;
        let mut saved_at = tokio::time::Instant::now();
        // A commit wakes the publisher; under a burst of commits it reads a batch at a
        // paced interval instead of once per commit (see `ReadPace`), far below any
        // delivery promise.
        let mut pace = self.pace;
        while !*stop.borrow() {
            let events = match self.store.read_all(cursor, BATCH).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(%error, publisher = %self.name, "reading the log failed; retrying");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            if !events.is_empty() {
                pace.found_events();
            }
            for event in &events {
                while let Err(error) = self.sink.publish(event).await {
                    tracing::warn!(%error, publisher = %self.name, position = event.global_position, "publish failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(RETRY) => {}
                        _ = stop.changed() => {
                            checkpoint::save(&db, &self.name, cursor).await?;
                            return Ok(());
                        }
                    }
                }
                cursor = event.cursor();
            }
            if cursor != saved && saved_at.elapsed() >= CHECKPOINT_EVERY {
                checkpoint::save(&db, &self.name, cursor).await?;
                (saved, saved_at) = (cursor, tokio::time::Instant::now());
            }
            if (events.len() as i64) < BATCH {
                // Wake for new commits, the poll, a pending checkpoint, or stop.
                let checkpoint_due = saved_at + CHECKPOINT_EVERY;
                tokio::select! {
                    _ = committed.changed() => pace.after_commit().await,
                    () = tokio::time::sleep(POLL) => {}
                    () = tokio::time::sleep_until(checkpoint_due), if cursor != saved => {}
                    _ = stop.changed() => {}
                }
            }
        }
        if cursor != saved {
            checkpoint::save(&db, &self.name, cursor).await?;
        }
        Ok(())
    }

    /// The cursor of the newest event the sink already holds, if the sink can tell and the
    /// event is in this log. Asks until the sink answers (nothing can be published before it
    /// does anyway) or `stop` turns true.
    async fn resume_point(&self, stop: &mut watch::Receiver<bool>) -> Option<Cursor> {
        let event_id = loop {
            match self.sink.last_delivered().await {
                Ok(event_id) => break event_id?,
                Err(error) => {
                    tracing::warn!(%error, publisher = %self.name, "cannot ask the sink for its last event; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(RETRY) => {}
                        _ = stop.changed() => return None,
                    }
                }
            }
        };
        loop {
            match self.store.load_event(event_id).await {
                // Not in this log: the sink holds another log's events (e.g. a stream shared
                // by a database that was reset). Trust the checkpoint.
                Ok(event) => return event.map(|event| event.cursor()),
                Err(error) => {
                    tracing::warn!(%error, publisher = %self.name, "reading the log failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(RETRY) => {}
                        _ = stop.changed() => return None,
                    }
                }
            }
        }
    }
}
