//! Connection pools for both backends and the macros that run one SQL text on either.
//!
//! We keep native sqlx pools (not `sqlx::Any`) so each backend keeps its own types and
//! statement cache on the hot path; the macros expand the same body once per backend.
//! Placeholders are written `$1, $2, ...`, which both PostgreSQL and sqlx's SQLite accept.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Transaction};

pub use crate::sqlite_readers::{ReaderLease, SqliteReaders};
pub use crate::sqlite_writer::{SqliteWrite, SqliteWriter};

/// Which database is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The pools of the live backend.
///
/// SQLite gets one file in WAL mode: a single writer connection (so appends are serialised
/// and the rowid cursor is safe) and a pool of readers that never block it.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite {
        writer: SqliteWriter,
        reader: SqliteReaders,
    },
    Postgres(PgPool),
}

/// A write transaction on the live backend.
#[derive(Debug)]
pub enum Tx {
    Sqlite(SqliteWrite),
    Postgres(Transaction<'static, Postgres>),
}

/// Tuning for [`Db::connect`].
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Connections to PostgreSQL, or SQLite reader connections.
    pub max_connections: u32,
    /// SQLite `synchronous`: `FULL` (default) survives power loss, `NORMAL` only a crash.
    pub sqlite_synchronous_full: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 8,
            sqlite_synchronous_full: true,
        }
    }
}

impl Db {
    /// Opens `sqlite://path` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .before_acquire(|conn, meta| Box::pin(revalidate_if_idle(conn, meta)))
                .connect_with(options)
                .await?;
            return Ok(Self::Postgres(pool));
        }
        if !url.starts_with("sqlite:") {
            return Err(sqlx::Error::Configuration(
                format!("unsupported database URL {url:?}: use sqlite://FILE or postgres://...")
                    .into(),
            ));
        }
        let synchronous = if settings.sqlite_synchronous_full {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        };
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqliteWriter::connect(options.clone()).await?;
        let reader =
            SqliteReaders::connect(options.read_only(true), settings.max_connections).await?;
        Ok(Self::Sqlite { writer, reader })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE` on the one writer
    /// (see [`SqliteWriter`]): the write lock is taken up front, so another process (e.g. a
    /// CLI rebuild) waits instead of failing.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Self::Sqlite { writer, .. } => Ok(Tx::Sqlite(writer.begin().await?)),
            Self::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }

    /// Closes every pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        match self {
            Self::Sqlite { writer, reader } => {
                writer.close().await;
                reader.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// A pooled PostgreSQL connection idle for longer than this is pinged before it is handed
/// out; one used more recently is handed out as it is.
const REVALIDATE_AFTER_IDLE: Duration = Duration::from_secs(1);

/// `before_acquire` of the PostgreSQL pool, in place of sqlx's ping on every acquire: that
/// ping is a round trip to the server (and a wake-up of its backend process) for every query
/// outside a transaction and every transaction, about a fifth of a sign-in's round trips.
/// A connection in steady use has just come back through sqlx's ping on release, so it is
/// known to be alive; one that sat idle may have been cut (a database restart, an idle
/// timeout, a terminated backend) and is checked first, so the first request after a quiet
/// spell does not fail on a dead connection. `Ok(false)` makes the pool close it and take
/// or open another.
async fn revalidate_if_idle(
    conn: &mut sqlx::PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for < REVALIDATE_AFTER_IDLE {
        return Ok(true);
    }
    Ok(sqlx::Connection::ping(conn).await.is_ok())
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await,
            Self::Postgres(tx) => tx.rollback().await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Runs `$body` with `$pool` bound to the live backend's read pool (`&SqliteReaders` or
/// `&PgPool`). The body is compiled once per backend, so it may use backend-typed rows.
#[macro_export]
macro_rules! with_reader {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite { reader: $pool, .. } => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut SqliteConnection`
/// or `&mut PgConnection`); write `&mut *$conn` to pass it to a query.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
            $crate::Tx::Postgres(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
        }
    };
}
