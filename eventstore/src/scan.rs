//! Reads of the log beyond the safe cursor of [`EventStore::read_all`]: bulk reads for
//! replays, reads inside a write transaction (a rebuild that holds the locks), single
//! events, the head, the lag of a reader, and the history of one aggregate.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

use crate::db::{Db, Tx};
use crate::event::{Cursor, RecordedEvent};
use crate::store::{
    EventStore, StoreError, POSTGRES_COLUMNS, POSTGRES_SAFE_READ_AFTER, SQLITE_READ_AFTER,
};
use crate::{from_millis, with_reader};

/// How far a reader of the whole log is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    /// Committed events after the reader's cursor.
    pub events: i64,
    /// When the oldest of them happened (`None` when there are none).
    pub oldest: Option<DateTime<Utc>>,
}

/// Reads the whole log in large batches, for replays. Same events and order as
/// [`EventStore::read_all`]. On SQLite it reads through a connection of its own, read-only,
/// memory-mapped and with a large page cache: a replay reads the entire file, and a system
/// call per page would cost more than decoding the events.
pub struct LogScanner {
    store: EventStore,
    sqlite: Option<SqliteConnection>,
}

/// Memory map and page cache of a scanner's SQLite connection.
const SCANNER_MMAP_BYTES: &str = "4294967296";
const SCANNER_CACHE_KIB: &str = "-65536";

/// Rows of the log fetched by a [`LogScanner`] and not decoded yet: a replay decodes one
/// batch on a task of its own while the next one is fetched.
pub struct RawBatch {
    rows: RawRows,
}

enum RawRows {
    Sqlite(Vec<SqliteRow>),
    Postgres(Vec<PgRow>),
}

impl RawBatch {
    pub fn len(&self) -> usize {
        match &self.rows {
            RawRows::Sqlite(rows) => rows.len(),
            RawRows::Postgres(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where a reader is once past this batch (`None` for an empty one).
    pub fn last_cursor(&self) -> Result<Option<Cursor>, StoreError> {
        Ok(match &self.rows {
            RawRows::Sqlite(rows) => match rows.last() {
                Some(row) => Some(Cursor {
                    tx_id: 0,
                    position: row.try_get("global_position")?,
                }),
                None => None,
            },
            RawRows::Postgres(rows) => match rows.last() {
                Some(row) => Some(Cursor {
                    tx_id: row.try_get("tx_id")?,
                    position: row.try_get("global_position")?,
                }),
                None => None,
            },
        })
    }
}

impl LogScanner {
    /// Up to `limit` events after `after`.
    pub async fn read(
        &mut self,
        after: Cursor,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let batch = self.fetch(after, limit).await?;
        self.store.decode_batch(batch)
    }

    /// Up to `limit` rows after `after`, to decode with [`EventStore::decode_batch`].
    pub async fn fetch(&mut self, after: Cursor, limit: i64) -> Result<RawBatch, StoreError> {
        let rows = match (self.sqlite.as_mut(), self.store.db()) {
            (Some(connection), _) => {
                let rows = sqlx::query(&SQLITE_READ_AFTER)
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(&mut *connection)
                    .await?;
                RawRows::Sqlite(rows)
            }
            (None, Db::Postgres(pool)) => {
                let rows = sqlx::query(&POSTGRES_SAFE_READ_AFTER)
                    .bind(after.tx_id.to_string())
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                RawRows::Postgres(rows)
            }
            (None, Db::Sqlite { .. }) => unreachable!("a SQLite scanner has its connection"),
        };
        Ok(RawBatch { rows })
    }

    /// Closes the scanner's own connection, if it has one.
    pub async fn close(self) {
        if let Some(connection) = self.sqlite {
            let _ = connection.close().await;
        }
    }
}

impl EventStore {
    /// Decodes (and upcasts) rows fetched by a [`LogScanner`].
    pub fn decode_batch(&self, batch: RawBatch) -> Result<Vec<RecordedEvent>, StoreError> {
        match &batch.rows {
            RawRows::Sqlite(rows) => rows.iter().map(|row| self.decode(row)).collect(),
            RawRows::Postgres(rows) => rows.iter().map(|row| self.decode(row)).collect(),
        }
    }

    /// A reader for replaying the whole log.
    pub async fn scanner(&self) -> Result<LogScanner, StoreError> {
        let sqlite = match self.db() {
            Db::Sqlite { reader, .. } => Some(
                (*reader.connect_options())
                    .clone()
                    .pragma("mmap_size", SCANNER_MMAP_BYTES)
                    .pragma("cache_size", SCANNER_CACHE_KIB)
                    .connect()
                    .await?,
            ),
            Db::Postgres(_) => None,
        };
        Ok(LogScanner {
            store: self.clone(),
            sqlite,
        })
    }

    /// Up to `limit` events after `after`, read inside `tx`, in the order of the safe cursor
    /// but without its horizon: every event committed before the statement started is
    /// visible. Only complete for a caller that holds locks keeping writers out (a rebuild
    /// swapping tables): then no event with a smaller cursor can still commit.
    pub async fn read_after_in(
        &self,
        tx: &mut Tx,
        after: Cursor,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = match tx {
            Tx::Sqlite(transaction) => {
                let rows = sqlx::query(&SQLITE_READ_AFTER)
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(&mut **transaction)
                    .await?;
                rows.iter()
                    .map(|row| self.decode(row))
                    .collect::<Result<Vec<_>, _>>()?
            }
            Tx::Postgres(transaction) => {
                // `events.tx_id`, not `tx_id`: ORDER BY would take the bigint the select list
                // calls tx_id, which no index covers, and sort the rest of the log each batch.
                let sql = format!(
                    "SELECT {POSTGRES_COLUMNS} FROM events
                     WHERE (tx_id, global_position) > (CAST($1 AS TEXT)::xid8, $2)
                     ORDER BY events.tx_id, global_position LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(after.tx_id.to_string())
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(&mut **transaction)
                    .await?;
                rows.iter()
                    .map(|row| self.decode(row))
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        Ok(events)
    }

    /// The event at a global position, if any.
    pub async fn event_at(&self, position: i64) -> Result<Option<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {} FROM events WHERE global_position = $1",
            self.columns()
        );
        let event = with_reader!(self.db(), |pool| {
            match sqlx::query(&sql)
                .bind(position)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Some(self.decode(&row)?),
                None => None,
            }
        });
        Ok(event)
    }

    /// The cursor of the newest event a reader of the whole log may see now: where a reader
    /// that wants only what comes next starts.
    pub async fn head(&self) -> Result<Cursor, StoreError> {
        let row: Option<(i64, i64)> =
            match self.db() {
                Db::Sqlite { reader, .. } => sqlx::query_as(
                    "SELECT 0, global_position FROM events ORDER BY global_position DESC LIMIT 1",
                )
                .fetch_optional(reader)
                .await?,
                Db::Postgres(pool) => {
                    sqlx::query_as(
                        "SELECT CAST(CAST(tx_id AS TEXT) AS BIGINT), global_position FROM events
                     WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
                     ORDER BY tx_id DESC, global_position DESC LIMIT 1",
                    )
                    .fetch_optional(pool)
                    .await?
                }
            };
        Ok(
            row.map_or_else(Cursor::default, |(tx_id, position)| Cursor {
                tx_id,
                position,
            }),
        )
    }

    /// The committed events after `cursor` and the time of the oldest of them.
    pub async fn lag(&self, cursor: Cursor) -> Result<Lag, StoreError> {
        let (events, oldest): (i64, Option<i64>) = match self.db() {
            Db::Sqlite { reader, .. } => {
                sqlx::query_as(
                    "SELECT COUNT(*), MIN(occurred_at) FROM events WHERE global_position > $1",
                )
                .bind(cursor.position)
                .fetch_one(reader)
                .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT COUNT(*), MIN(occurred_at) FROM events
                     WHERE (tx_id, global_position) > (CAST($1 AS TEXT)::xid8, $2)",
                )
                .bind(cursor.tx_id.to_string())
                .bind(cursor.position)
                .fetch_one(pool)
                .await?
            }
        };
        Ok(Lag {
            events,
            oldest: oldest.map(from_millis),
        })
    }

    /// Every event whose aggregate id is `aggregate_id`, whatever the aggregate type, in log
    /// order: one indexed stream load per aggregate type in the log.
    pub async fn events_of_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = Vec::new();
        for aggregate_type in self.aggregate_types().await? {
            events.extend(self.load_stream(&aggregate_type, aggregate_id).await?);
        }
        events.sort_by_key(|event| event.global_position);
        Ok(events)
    }

    /// The aggregate types present in the log, found by hopping along the primary key's
    /// index from one type to the next (a handful of look-ups, not a scan of the log).
    pub async fn aggregate_types(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = with_reader!(self.db(), |pool| {
            sqlx::query_as(
                "WITH RECURSIVE types(name) AS (
                     SELECT MIN(aggregate_type) FROM events
                     UNION ALL
                     SELECT (SELECT MIN(aggregate_type) FROM events WHERE aggregate_type > name)
                     FROM types WHERE name IS NOT NULL)
                 SELECT name FROM types WHERE name IS NOT NULL",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    /// The streams (other than users) whose first event names `user_id` in its payload: the
    /// sessions and accounts of a user. An operator's look-up: it scans the log.
    pub async fn streams_of_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = match self.db() {
            Db::Sqlite { reader, .. } => {
                sqlx::query_as(
                    "SELECT aggregate_type, aggregate_id FROM events
                     WHERE version = 1 AND aggregate_type <> 'user'
                       AND json_extract(payload, '$.user_id') = $1
                     ORDER BY global_position",
                )
                .bind(user_id)
                .fetch_all(reader)
                .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT aggregate_type, aggregate_id FROM events
                     WHERE version = 1 AND aggregate_type <> 'user' AND payload->>'user_id' = $1
                     ORDER BY global_position",
                )
                .bind(user_id)
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows)
    }
}
