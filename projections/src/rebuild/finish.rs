//! The end of a rebuild, inside the transaction that holds the write lock: the events
//! appended since the replay's last read, so that shadow and live reflect the same log.

use authlog_eventstore::{Cursor, EventStore, RecordedEvent, StoreError, Tx};

use super::replay::BATCH_EVENTS;
use crate::{state, Projection, Target};

/// Inline projections: holds the live tables' write lock and applies the events committed
/// since the replay's last read. Returns the final cursor and the events applied.
pub(super) async fn finish_inline(
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
pub(super) async fn finish_async(
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
