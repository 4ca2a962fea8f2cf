//! `EventStore`: the only way anything is written to the log.

use std::sync::{Arc, LazyLock};

use authlog_domain::uniqueness::UniqueClaim;
use tokio::sync::watch;

use crate::db::{Backend, Db, Tx};
use crate::event::{AppendRequest, Cursor, Metadata, RecordedEvent};
use crate::unique::UniqueHasher;
use crate::upcast::Upcasters;
use crate::{from_millis, to_millis, with_reader, with_tx};

/// A projection that runs inside the append transaction (read-your-writes for the tables
/// the auth hot path reads). Implemented in `projections`.
#[async_trait::async_trait]
pub trait InlineProjection: Send + Sync {
    fn name(&self) -> &'static str;
    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), sqlx::Error>;
}

/// The store failed for a reason that is not the caller's: database or data corruption.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored event {position} cannot be decoded: {reason}")]
    Corrupt { position: i64, reason: String },
}

/// Why an append did not commit. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another command appended to this stream first: reload and decide again.
    #[error("stream {aggregate_type}/{aggregate_id} moved past the expected version")]
    Conflict {
        aggregate_type: String,
        aggregate_id: String,
    },
    /// A unique value (e.g. an email) belongs to someone else. Not retryable.
    #[error("unique value of kind {kind} is taken")]
    Taken { kind: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AppendError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(error))
    }
}

/// The log, its unique constraints and its inline projections.
#[derive(Clone)]
pub struct EventStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    unique: UniqueHasher,
    upcasters: Upcasters,
    inline: Vec<Arc<dyn InlineProjection>>,
    /// The global position of the newest committed append; readers of the whole log wait
    /// on it instead of polling.
    committed: watch::Sender<i64>,
}

pub(crate) const SQLITE_COLUMNS: &str =
    "global_position, 0 AS tx_id, event_id, aggregate_type, aggregate_id, \
     version, event_type, event_version, payload, metadata, occurred_at";
pub(crate) const POSTGRES_COLUMNS: &str = "global_position, CAST(CAST(tx_id AS TEXT) AS BIGINT) AS tx_id, \
     CAST(event_id AS TEXT) AS event_id, aggregate_type, aggregate_id, version, event_type, \
     event_version, CAST(payload AS TEXT) AS payload, CAST(metadata AS TEXT) AS metadata, occurred_at";

/// Up to `$2` events after global position `$1`, in log order (SQLite, one writer, so
/// position order is commit order).
pub(crate) static SQLITE_READ_AFTER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SQLITE_COLUMNS} FROM events WHERE global_position > $1
         ORDER BY global_position LIMIT $2"
    )
});

/// Up to `$3` events after the cursor (`$1` tx id as text, `$2` position), behind the safe
/// horizon: only transactions older than every running one. `events.tx_id`, not `tx_id`, in
/// ORDER BY: the bare name would take the bigint the select list calls tx_id, which no index
/// covers, and sort the rest of the log each batch.
pub(crate) static POSTGRES_SAFE_READ_AFTER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {POSTGRES_COLUMNS} FROM events
         WHERE (tx_id, global_position) > (CAST($1 AS TEXT)::xid8, $2)
           AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY events.tx_id, global_position LIMIT $3"
    )
});

impl EventStore {
    /// Opens the store on a migrated database.
    pub async fn open(
        db: Db,
        upcasters: Upcasters,
        inline: Vec<Arc<dyn InlineProjection>>,
    ) -> Result<Self, StoreError> {
        let unique = UniqueHasher::load_or_create(&db).await?;
        let (committed, _) = watch::channel(0);
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                unique,
                upcasters,
                inline,
                committed,
            }),
        })
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn upcasters(&self) -> &Upcasters {
        &self.inner.upcasters
    }

    /// Wakes whenever an append commits (the value is its last global position).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.committed.subscribe()
    }

    /// Appends every stream of `request` and applies its unique claims and the inline
    /// projections, all in one transaction.
    pub async fn append(&self, request: AppendRequest) -> Result<Vec<RecordedEvent>, AppendError> {
        self.append_all(std::slice::from_ref(&request)).await
    }

    /// Appends several requests in one transaction, each exactly as [`EventStore::append`]
    /// would (its own metadata and time, unique claims, inline projections), all or nothing.
    /// For imports and generated benchmark logs: one commit instead of one per command.
    pub async fn append_all(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<RecordedEvent>, AppendError> {
        if requests
            .iter()
            .all(|request| request.is_empty() && request.unique.is_empty())
        {
            return Ok(Vec::new());
        }
        let mut tx = self.inner.db.begin().await?;
        let mut recorded = Vec::new();
        for request in requests {
            self.apply_unique_claims(&mut tx, &request.unique).await?;
            let events = insert_events(&mut tx, request).await?;
            for event in &events {
                for projection in &self.inner.inline {
                    projection.apply(&mut tx, event).await.map_err(|error| {
                        tracing::error!(projection = projection.name(), %error, "inline projection failed");
                        error
                    })?;
                }
            }
            recorded.extend(events);
        }
        tx.commit().await?;
        if let Some(last) = recorded.last() {
            self.inner.committed.send_replace(last.global_position);
        }
        Ok(recorded)
    }

    async fn apply_unique_claims(
        &self,
        tx: &mut Tx,
        claims: &[UniqueClaim],
    ) -> Result<(), AppendError> {
        // Releases first, so one request can move a value (e.g. change an email back).
        for claim in claims {
            if let UniqueClaim::Release { kind, value } = claim {
                let hash = self.inner.unique.hash(kind.as_str(), value);
                with_tx!(&mut *tx, |conn| {
                    sqlx::query(
                        "DELETE FROM unique_constraints WHERE kind = $1 AND value_hash = $2",
                    )
                    .bind(kind.as_str())
                    .bind(&hash)
                    .execute(&mut *conn)
                    .await?;
                });
            }
        }
        for claim in claims {
            if let UniqueClaim::Claim { kind, value, owner } = claim {
                let hash = self.inner.unique.hash(kind.as_str(), value);
                // ON CONFLICT DO NOTHING: a concurrent claim of the same value waits for the
                // first transaction, then inserts nothing; we report that as `Taken` instead of
                // parsing driver errors.
                let holder: Option<(String,)> = with_tx!(&mut *tx, |conn| {
                    let inserted = sqlx::query(
                        "INSERT INTO unique_constraints (kind, value_hash, owner_id) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(kind.as_str())
                    .bind(&hash)
                    .bind(owner)
                    .execute(&mut *conn)
                    .await?;
                    if inserted.rows_affected() == 1 {
                        None
                    } else {
                        sqlx::query_as("SELECT owner_id FROM unique_constraints WHERE kind = $1 AND value_hash = $2")
                            .bind(kind.as_str())
                            .bind(&hash)
                            .fetch_optional(&mut *conn)
                            .await?
                    }
                });
                if holder.is_some_and(|(holder,)| &holder != owner) {
                    return Err(AppendError::Taken {
                        kind: kind.as_str(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every event of one stream, in version order.
    pub async fn load_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY version",
            self.columns()
        );
        let rows = with_reader!(&self.inner.db, |pool| {
            let rows = sqlx::query(&sql)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| self.decode(row))
                .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// The event with this id, if the log holds it.
    pub async fn load_event(
        &self,
        event_id: uuid::Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        let sql = match self.inner.db.backend() {
            Backend::Sqlite => format!("SELECT {SQLITE_COLUMNS} FROM events WHERE event_id = $1"),
            Backend::Postgres => {
                format!("SELECT {POSTGRES_COLUMNS} FROM events WHERE event_id = CAST($1 AS UUID)")
            }
        };
        let event = with_reader!(&self.inner.db, |pool| {
            let row = sqlx::query(&sql)
                .bind(event_id.to_string())
                .fetch_optional(pool)
                .await?;
            row.map(|row| self.decode(&row)).transpose()?
        });
        Ok(event)
    }

    /// Up to `limit` events after `after`, in commit-safe order. On PostgreSQL only events
    /// of transactions older than every running one are returned, so a reader that
    /// checkpoints the last cursor it saw never skips an event that commits late.
    pub async fn read_all(
        &self,
        after: Cursor,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = match &self.inner.db {
            Db::Sqlite { reader, .. } => {
                let rows = sqlx::query(&SQLITE_READ_AFTER)
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(reader)
                    .await?;
                rows.iter()
                    .map(|row| self.decode(row))
                    .collect::<Result<Vec<_>, _>>()?
            }
            Db::Postgres(pool) => {
                let rows = sqlx::query(&POSTGRES_SAFE_READ_AFTER)
                    .bind(after.tx_id.to_string())
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|row| self.decode(row))
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        Ok(events)
    }

    /// The number of events in the log.
    pub async fn count(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = with_reader!(&self.inner.db, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM events")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    pub(crate) fn columns(&self) -> &'static str {
        match self.inner.db.backend() {
            Backend::Sqlite => SQLITE_COLUMNS,
            Backend::Postgres => POSTGRES_COLUMNS,
        }
    }

    pub(crate) fn decode<R: sqlx::Row>(&self, row: &R) -> Result<RecordedEvent, StoreError>
    where
        for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'c> &'c str: sqlx::ColumnIndex<R>,
    {
        // JSON and the id are parsed from the row's own text, without copying it first:
        // replays decode millions of rows.
        let position: i64 = row.try_get("global_position")?;
        let corrupt = |reason: String| StoreError::Corrupt { position, reason };
        let event_type: String = row.try_get("event_type")?;
        let payload: &str = row.try_get("payload")?;
        let payload = serde_json::from_str(payload).map_err(|e| corrupt(e.to_string()))?;
        let (event_version, payload) =
            self.inner
                .upcasters
                .upcast(&event_type, row.try_get("event_version")?, payload);
        let metadata: &str = row.try_get("metadata")?;
        let metadata: Metadata =
            serde_json::from_str(metadata).map_err(|e| corrupt(e.to_string()))?;
        let event_id: &str = row.try_get("event_id")?;
        Ok(RecordedEvent {
            global_position: position,
            tx_id: row.try_get("tx_id")?,
            event_id: event_id
                .parse()
                .map_err(|e: uuid::Error| corrupt(e.to_string()))?,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            version: row.try_get("version")?,
            event_type,
            event_version,
            payload,
            metadata,
            occurred_at: from_millis(row.try_get("occurred_at")?),
        })
    }
}

/// Inserts the events of every stream at `expected_version + 1, + 2, ...`. A taken slot
/// means another command got there first.
async fn insert_events(
    tx: &mut Tx,
    request: &AppendRequest,
) -> Result<Vec<RecordedEvent>, AppendError> {
    let insert = match tx.backend() {
        Backend::Sqlite => {
            "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type,
                 event_version, payload, metadata, occurred_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT DO NOTHING
             RETURNING global_position, 0"
        }
        Backend::Postgres => {
            "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type,
                 event_version, payload, metadata, occurred_at)
             VALUES (CAST($1 AS UUID), $2, $3, $4, $5, $6, CAST($7 AS JSONB), CAST($8 AS JSONB), $9)
             ON CONFLICT DO NOTHING
             RETURNING global_position, CAST(CAST(tx_id AS TEXT) AS BIGINT)"
        }
    };
    let metadata = serde_json::to_string(&request.metadata).expect("metadata serializes");
    let occurred_at = to_millis(request.occurred_at);
    let mut recorded = Vec::new();
    for stream in &request.streams {
        for (offset, event) in stream.events.iter().enumerate() {
            let version = stream.expected_version + offset as i64 + 1;
            let inserted: Option<(i64, i64)> = with_tx!(&mut *tx, |conn| {
                sqlx::query_as(insert)
                    .bind(event.event_id.to_string())
                    .bind(&stream.aggregate_type)
                    .bind(&stream.aggregate_id)
                    .bind(version)
                    .bind(&event.event_type)
                    .bind(event.event_version)
                    .bind(event.payload.to_string())
                    .bind(&metadata)
                    .bind(occurred_at)
                    .fetch_optional(&mut *conn)
                    .await?
            });
            let Some((global_position, tx_id)) = inserted else {
                return Err(AppendError::Conflict {
                    aggregate_type: stream.aggregate_type.clone(),
                    aggregate_id: stream.aggregate_id.clone(),
                });
            };
            recorded.push(RecordedEvent {
                global_position,
                tx_id,
                event_id: event.event_id,
                aggregate_type: stream.aggregate_type.clone(),
                aggregate_id: stream.aggregate_id.clone(),
                version,
                event_type: event.event_type.clone(),
                event_version: event.event_version,
                payload: event.payload.clone(),
                metadata: request.metadata.clone(),
                occurred_at: from_millis(occurred_at),
            });
        }
    }
    Ok(recorded)
}
