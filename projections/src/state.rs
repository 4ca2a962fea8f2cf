//! `projection_state`: for each projection, the version of the code that built its tables
//! and, for projections the runner follows, where in the log it has got to.

use authlog_eventstore::{from_millis, with_reader, with_tx, Cursor, Db, Tx};
use chrono::{DateTime, Utc};

/// One projection's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionState {
    pub name: String,
    /// `Projection::version()` of the code that built the tables.
    pub version: i32,
    /// Async projections: the last event applied. Inline projections: where their last
    /// rebuild caught up with the log.
    pub cursor: Cursor,
    pub rebuilt_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

type Row = (String, i32, i64, i64, Option<i64>, i64);

const COLUMNS: &str = "name, version, tx_id, position, rebuilt_at, updated_at";

fn from_row((name, version, tx_id, position, rebuilt_at, updated_at): Row) -> ProjectionState {
    ProjectionState {
        name,
        version,
        cursor: Cursor { tx_id, position },
        rebuilt_at: rebuilt_at.map(from_millis),
        updated_at: from_millis(updated_at),
    }
}

/// The row of `name`, if the projection has ever been recorded.
pub async fn load(db: &Db, name: &str) -> Result<Option<ProjectionState>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM projection_state WHERE name = $1");
    let row: Option<Row> = with_reader!(db, |pool| {
        sqlx::query_as(&sql).bind(name).fetch_optional(pool).await?
    });
    Ok(row.map(from_row))
}

/// Every row, by name.
pub async fn load_all(db: &Db) -> Result<Vec<ProjectionState>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM projection_state ORDER BY name");
    let rows: Vec<Row> = with_reader!(db, |pool| { sqlx::query_as(&sql).fetch_all(pool).await? });
    Ok(rows.into_iter().map(from_row).collect())
}

/// The row of `name` inside a write transaction. On PostgreSQL the row stays locked until
/// the transaction ends, so the runner and a rebuild take turns on it (SQLite's single
/// writer already serialises them).
pub async fn load_for_update(
    tx: &mut Tx,
    name: &str,
) -> Result<Option<ProjectionState>, sqlx::Error> {
    let sql = match tx {
        Tx::Sqlite(_) => format!("SELECT {COLUMNS} FROM projection_state WHERE name = $1"),
        Tx::Postgres(_) => {
            format!("SELECT {COLUMNS} FROM projection_state WHERE name = $1 FOR UPDATE")
        }
    };
    let row: Option<Row> = with_tx!(tx, |conn| {
        sqlx::query_as(&sql)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
    });
    Ok(row.map(from_row))
}

/// Records a projection seen for the first time, at the start of the log.
pub async fn insert_if_missing(db: &Db, name: &str, version: i32) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |conn| {
        sqlx::query(
            "INSERT INTO projection_state (name, version, tx_id, position, rebuilt_at, updated_at)
             VALUES ($1, $2, 0, 0, NULL, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(version)
        .bind(Utc::now().timestamp_millis())
        .execute(&mut *conn)
        .await?;
    });
    tx.commit().await
}

/// Moves the cursor of `name` from `from` to `to`, only if it is still at `from` with
/// `version`: a runner that lost its place (another runner, a rebuild) changes nothing and
/// learns it from the `false`.
pub async fn advance(
    tx: &mut Tx,
    name: &str,
    version: i32,
    from: Cursor,
    to: Cursor,
) -> Result<bool, sqlx::Error> {
    let moved = with_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE projection_state SET tx_id = $1, position = $2, updated_at = $3
             WHERE name = $4 AND version = $5 AND tx_id = $6 AND position = $7",
        )
        .bind(to.tx_id)
        .bind(to.position)
        .bind(Utc::now().timestamp_millis())
        .bind(name)
        .bind(version)
        .bind(from.tx_id)
        .bind(from.position)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(moved == 1)
}

/// Records a finished rebuild: the tables now hold `version`'s rows up to `cursor`.
pub async fn record_rebuild(
    tx: &mut Tx,
    name: &str,
    version: i32,
    cursor: Cursor,
) -> Result<(), sqlx::Error> {
    let now = Utc::now().timestamp_millis();
    with_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO projection_state (name, version, tx_id, position, rebuilt_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (name) DO UPDATE SET version = $2, tx_id = $3, position = $4,
                 rebuilt_at = $5, updated_at = $5",
        )
        .bind(name)
        .bind(version)
        .bind(cursor.tx_id)
        .bind(cursor.position)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}
