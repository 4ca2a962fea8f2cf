//! Checkpoints: the cursor of a named reader of the log, in the `checkpoints` table.

use authlog_eventstore::{with_reader, with_tx, Cursor, Db};

/// The saved cursor of `name`, or the start of the log.
pub async fn load(db: &Db, name: &str) -> Result<Cursor, sqlx::Error> {
    let row: Option<(i64, i64)> = with_reader!(db, |pool| {
        sqlx::query_as("SELECT tx_id, position FROM checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?
    });
    Ok(
        row.map_or_else(Cursor::default, |(tx_id, position)| Cursor {
            tx_id,
            position,
        }),
    )
}

/// Saves `cursor` as the position of `name`.
pub async fn save(db: &Db, name: &str, cursor: Cursor) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |conn| {
        sqlx::query(
            "INSERT INTO checkpoints (name, tx_id, position, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET tx_id = $2, position = $3, updated_at = $4",
        )
        .bind(name)
        .bind(cursor.tx_id)
        .bind(cursor.position)
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&mut *conn)
        .await?;
    });
    tx.commit().await
}
