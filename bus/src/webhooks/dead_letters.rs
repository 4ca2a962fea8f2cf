//! `webhook_failures`: deliveries given up after every retry.

use authlog_eventstore::{from_millis, with_reader, with_tx, Db, RecordedEvent};
use chrono::{DateTime, Utc};

use super::delivery::Attempt;

/// A delivery that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub webhook: String,
    pub event_id: String,
    pub event_type: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: String,
    pub failed_at: DateTime<Utc>,
}

/// Records (or updates) the dead letter of `event` for `webhook`.
pub async fn record(
    db: &Db,
    webhook: &str,
    event: &RecordedEvent,
    attempts: u32,
    failure: &Attempt,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |conn| {
        sqlx::query(
            "INSERT INTO webhook_failures
                 (webhook, event_id, event_type, attempts, last_status, last_error, failed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (webhook, event_id) DO UPDATE SET
                 attempts = webhook_failures.attempts + $4, last_status = $5, last_error = $6,
                 failed_at = $7",
        )
        .bind(webhook)
        .bind(event.event_id.to_string())
        .bind(&event.event_type)
        .bind(i64::from(attempts))
        .bind(failure.status.map(i64::from))
        .bind(&failure.error)
        .bind(Utc::now().timestamp_millis())
        .execute(&mut *conn)
        .await?;
    });
    tx.commit().await
}

/// Forgets the dead letter of a delivery that has now succeeded.
pub async fn resolve(db: &Db, webhook: &str, event_id: &str) -> Result<(), sqlx::Error> {
    let exists: Option<(i64,)> = with_reader!(db, |pool| {
        sqlx::query_as("SELECT attempts FROM webhook_failures WHERE webhook = $1 AND event_id = $2")
            .bind(webhook)
            .bind(event_id)
            .fetch_optional(pool)
            .await?
    });
    if exists.is_none() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |conn| {
        sqlx::query("DELETE FROM webhook_failures WHERE webhook = $1 AND event_id = $2")
            .bind(webhook)
            .bind(event_id)
            .execute(&mut *conn)
            .await?;
    });
    tx.commit().await
}

/// A row of `webhook_failures` as selected below.
type Row = (String, String, String, i64, Option<i64>, String, i64);

/// Every dead letter, oldest first.
pub async fn list(db: &Db) -> Result<Vec<DeadLetter>, sqlx::Error> {
    Ok(with_reader!(db, |pool| {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT webhook, event_id, event_type, attempts, last_status, last_error, failed_at
             FROM webhook_failures ORDER BY failed_at, id",
        )
        .fetch_all(pool)
        .await?;
        rows.into_iter()
            .map(
                |(webhook, event_id, event_type, attempts, last_status, last_error, failed_at)| {
                    DeadLetter {
                        webhook,
                        event_id,
                        event_type,
                        attempts,
                        last_status,
                        last_error,
                        failed_at: from_millis(failed_at),
                    }
                },
            )
            .collect()
    }))
}
