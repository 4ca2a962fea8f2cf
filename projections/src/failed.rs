//! `failed_events`: events a projection could not apply, with when to try them again.
//!
//! A halted projection has exactly one row with status `halted`: the event it is stuck on.
//! A projection that skips has any number of `skipped` rows, retried on the side. A row is
//! deleted when its event finally applies.

use std::time::Duration;

use authlog_eventstore::{from_millis, with_reader, with_tx, Db, RecordedEvent, Tx};
use chrono::{DateTime, Utc};

/// Where a failed event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureStatus {
    /// The projection waits for this event: nothing after it is applied.
    Halted,
    /// The projection went on without it.
    Skipped,
}

impl FailureStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Halted => "halted",
            Self::Skipped => "skipped",
        }
    }

    fn parse(stored: &str) -> Self {
        if stored == "halted" {
            Self::Halted
        } else {
            Self::Skipped
        }
    }
}

/// A row of `failed_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEvent {
    pub projection: String,
    pub position: i64,
    pub tx_id: i64,
    pub event_id: String,
    pub event_type: String,
    pub status: FailureStatus,
    pub attempts: i32,
    pub last_error: String,
    pub first_failed_at: DateTime<Utc>,
    pub last_failed_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
}

type Row = (
    String,
    i64,
    i64,
    String,
    String,
    String,
    i32,
    String,
    i64,
    i64,
    i64,
);

const COLUMNS: &str =
    "projection, global_position, tx_id, event_id, event_type, status, attempts, \
     last_error, first_failed_at, last_failed_at, next_attempt_at";

fn from_row(row: Row) -> FailedEvent {
    FailedEvent {
        projection: row.0,
        position: row.1,
        tx_id: row.2,
        event_id: row.3,
        event_type: row.4,
        status: FailureStatus::parse(&row.5),
        attempts: row.6,
        last_error: row.7,
        first_failed_at: from_millis(row.8),
        last_failed_at: from_millis(row.9),
        next_attempt_at: from_millis(row.10),
    }
}

/// How long to wait before trying a failed event again: doubling from `first` up to `max`.
/// The default (half a second up to five minutes) retries a transient failure quickly
/// without hammering the database while a bad deploy waits for its fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait after `attempts` failed attempts.
    pub fn delay(&self, attempts: i32) -> Duration {
        let doublings = attempts.clamp(1, 20) as u32 - 1;
        self.first.saturating_mul(1 << doublings).min(self.max)
    }
}

/// Records a failed attempt at `event` (the first, or one more) and returns the attempts so
/// far.
pub async fn record(
    tx: &mut Tx,
    projection: &str,
    event: &RecordedEvent,
    status: FailureStatus,
    error: &str,
    backoff: Backoff,
) -> Result<i32, sqlx::Error> {
    let now = Utc::now();
    let earlier: Option<(i32, i64)> = with_tx!(&mut *tx, |conn| {
        sqlx::query_as(
            "SELECT attempts, first_failed_at FROM failed_events
             WHERE projection = $1 AND global_position = $2",
        )
        .bind(projection)
        .bind(event.global_position)
        .fetch_optional(&mut *conn)
        .await?
    });
    let (attempts, first_failed_at) = match earlier {
        Some((attempts, first)) => (attempts + 1, first),
        None => (1, now.timestamp_millis()),
    };
    let wait = chrono::Duration::from_std(backoff.delay(attempts)).unwrap_or_default();
    with_tx!(&mut *tx, |conn| {
        sqlx::query(
            "INSERT INTO failed_events (projection, global_position, tx_id, event_id, event_type,
                 status, attempts, last_error, first_failed_at, last_failed_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (projection, global_position) DO UPDATE SET status = $6, attempts = $7,
                 last_error = $8, last_failed_at = $10, next_attempt_at = $11",
        )
        .bind(projection)
        .bind(event.global_position)
        .bind(event.tx_id)
        .bind(event.event_id.to_string())
        .bind(&event.event_type)
        .bind(status.as_str())
        .bind(attempts)
        .bind(error)
        .bind(first_failed_at)
        .bind(now.timestamp_millis())
        .bind((now + wait).timestamp_millis())
        .execute(&mut *conn)
        .await?;
    });
    Ok(attempts)
}

/// Forgets a failure: its event has been applied.
pub async fn resolve(tx: &mut Tx, projection: &str, position: i64) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query("DELETE FROM failed_events WHERE projection = $1 AND global_position = $2")
            .bind(projection)
            .bind(position)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Forgets every failure of a projection (its tables were just rebuilt from the log).
pub async fn clear(tx: &mut Tx, projection: &str) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query("DELETE FROM failed_events WHERE projection = $1")
            .bind(projection)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// The failures of a projection, oldest event first.
pub async fn list(db: &Db, projection: &str) -> Result<Vec<FailedEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM failed_events WHERE projection = $1 ORDER BY global_position"
    );
    let rows: Vec<Row> = with_reader!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(projection)
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(from_row).collect())
}

/// The event a projection is halted on, if it is.
pub async fn halted(db: &Db, projection: &str) -> Result<Option<FailedEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM failed_events WHERE projection = $1 AND status = 'halted'
         ORDER BY global_position LIMIT 1"
    );
    let row: Option<Row> = with_reader!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(projection)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(from_row))
}

/// Skipped events whose next attempt is due.
pub async fn due_skipped(
    db: &Db,
    projection: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<FailedEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM failed_events
         WHERE projection = $1 AND status = 'skipped' AND next_attempt_at <= $2
         ORDER BY global_position LIMIT $3"
    );
    let rows: Vec<Row> = with_reader!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(projection)
            .bind(now.timestamp_millis())
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(from_row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_maximum() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(1), Duration::from_millis(500));
        assert_eq!(backoff.delay(2), Duration::from_secs(1));
        assert_eq!(backoff.delay(4), Duration::from_secs(4));
        assert_eq!(backoff.delay(30), Duration::from_secs(300));
    }
}
