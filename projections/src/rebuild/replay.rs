//! Replaying the log into a projection's tables in bulk.
//!
//! Reading and writing overlap: a reader task fetches and decodes the next batch while the
//! current one is folded and written. Into the live database each batch is a transaction
//! of its own (the server's writes interleave with the replay instead of waiting for all of
//! it); into a SQLite scratch file, the whole replay is one transaction.

use authlog_eventstore::{Cursor, EventStore, RecordedEvent, StoreError, Tx};
use tokio::sync::mpsc;

use super::scratch::Scratch;
use crate::{Projection, Target};

/// Events read per batch, and so per write transaction.
pub(crate) const BATCH_EVENTS: i64 = 10_000;

/// Applies every event after `from` up to the safe head of the log to `target`, in the
/// live database or in `scratch`, calling `on_batch` with the events applied so far.
/// Returns the cursor of the last event applied (`from` if there was none) and the count.
pub(crate) async fn replay(
    store: &EventStore,
    projection: &dyn Projection,
    from: Cursor,
    target: Target,
    scratch: Option<&Scratch>,
    on_batch: &mut (dyn FnMut(u64) + Send),
) -> Result<(Cursor, u64), StoreError> {
    let (batches, mut received) = mpsc::channel::<Result<Vec<RecordedEvent>, StoreError>>(2);
    let mut scanner = store.scanner().await?;
    let reader = tokio::spawn(async move {
        let mut cursor = from;
        loop {
            let batch = scanner.read(cursor, BATCH_EVENTS).await;
            let last = match &batch {
                Ok(events) => events.last().map(RecordedEvent::cursor),
                Err(_) => None,
            };
            let full = matches!(&batch, Ok(events) if events.len() as i64 == BATCH_EVENTS);
            let more = batches.send(batch).await.is_ok() && full;
            match last {
                Some(last) if more => cursor = last,
                _ => break,
            }
        }
        scanner.close().await;
    });
    let mut scratch_tx = match scratch {
        Some(scratch) => Some(scratch.begin().await?),
        None => None,
    };
    let mut cursor = from;
    let mut applied = 0u64;
    while let Some(batch) = received.recv().await {
        let events = batch?;
        let Some(last) = events.last() else { break };
        match scratch_tx.as_mut() {
            Some(tx) => projection.apply_batch(tx, &events, target).await?,
            None => {
                let mut tx = begin_bulk(store).await?;
                projection.apply_batch(&mut tx, &events, target).await?;
                tx.commit().await?;
            }
        }
        cursor = last.cursor();
        applied += events.len() as u64;
        on_batch(applied);
    }
    drop(received);
    let _ = reader.await;
    if let Some(tx) = scratch_tx {
        tx.commit().await?;
    }
    Ok((cursor, applied))
}

/// A write transaction for bulk work. On PostgreSQL its commit does not wait for the WAL to
/// reach the disk: a crash can lose the last batches of a replay, which then simply runs
/// again; it can never leave a half-written batch.
pub(crate) async fn begin_bulk(store: &EventStore) -> Result<Tx, sqlx::Error> {
    let mut tx = store.db().begin().await?;
    if let Tx::Postgres(transaction) = &mut tx {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut **transaction)
            .await?;
    }
    Ok(tx)
}
