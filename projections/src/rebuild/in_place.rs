//! The simple rebuild, for tests and small logs: empty the live tables and replay into them
//! in one transaction; and snapshots of whole tables for comparison.

use std::sync::Arc;

use authlog_eventstore::{with_reader, with_tx, Cursor, EventStore, StoreError, Tx};

use crate::{Projection, Table, Target};

/// Events read from the log per batch during a replay.
const BATCH: i64 = 1000;

/// Empties the projections' tables and replays the whole log into them, in one transaction
/// holding their write lock (as the swap of a shadow rebuild does): readers see either the
/// old rows or the rebuilt ones, and appends wait. Returns the number of events read.
pub async fn rebuild_in_place(
    store: &EventStore,
    projections: &[Arc<dyn Projection>],
) -> Result<u64, StoreError> {
    let mut tx = store.db().begin().await?;
    if let Tx::Postgres(transaction) = &mut tx {
        let tables = projections
            .iter()
            .flat_map(|projection| projection.tables())
            .map(|table| table.name)
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query(&format!("LOCK TABLE {tables} IN EXCLUSIVE MODE"))
            .execute(&mut **transaction)
            .await?;
    }
    for projection in projections {
        for table in projection.tables() {
            with_tx!(&mut tx, |conn| {
                sqlx::query(&format!("DELETE FROM {}", table.name))
                    .execute(&mut *conn)
                    .await?;
            });
        }
    }
    let mut cursor = Cursor::default();
    let mut replayed = 0u64;
    loop {
        // Inside the transaction and without the safe cursor's horizon: with the writers
        // locked out, every event they committed is visible and no other can commit.
        let events = store.read_after_in(&mut tx, cursor, BATCH).await?;
        let Some(last) = events.last() else { break };
        cursor = last.cursor();
        for projection in projections {
            projection
                .apply_batch(&mut tx, &events, Target::Live)
                .await?;
        }
        replayed += events.len() as u64;
    }
    tx.commit().await?;
    Ok(replayed)
}

/// Every row of `table`, each column rendered as text, ordered by primary key: two
/// snapshots are equal exactly when the tables hold the same rows.
pub async fn snapshot(
    store: &EventStore,
    table: &Table,
) -> Result<Vec<Vec<Option<String>>>, StoreError> {
    let columns = table
        .columns
        .iter()
        .map(|column| format!("CAST({column} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM {} ORDER BY {}",
        table.name, table.columns[0]
    );
    let rows = with_reader!(store.db(), |pool| {
        use sqlx::Row;
        let rows = sqlx::query(&sql).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(table.columns.len());
            for index in 0..table.columns.len() {
                values.push(row.try_get::<Option<String>, _>(index)?);
            }
            out.push(values);
        }
        out
    });
    Ok(rows)
}
