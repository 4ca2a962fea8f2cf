//! The SQLite readers: a small pool of read-only connections that hands a connection back
//! without a round trip.
//!
//! sqlx's pool pings every connection when it comes back, a hop to the connection's worker
//! thread (and a wake-up of the task waiting on it) after every read: a sign-in's one read
//! cost two hops. A SQLite connection is a file handle in this process; nothing on the other
//! side can drop it, and a read cut short by a cancelled caller finishes on the worker
//! before the next command there. So a connection goes back to the idle list as it is,
//! unless sqlx still counts it inside a transaction (a leak, however it happened): that one
//! is closed, which rolls the transaction back, instead of answering later reads from its
//! old snapshot.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteQueryResult, SqliteRow, SqliteStatement, SqliteTransactionManager,
    SqliteTypeInfo,
};
use sqlx::{
    ConnectOptions, Connection, Describe, Either, Execute, Executor, Sqlite, SqliteConnection,
    TransactionManager,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a read waits for a free connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool of read-only connections (cheap to clone: clones share the pool).
#[derive(Debug, Clone)]
pub struct SqliteReaders {
    inner: Arc<Readers>,
}

#[derive(Debug)]
struct Readers {
    options: SqliteConnectOptions,
    /// Most recently used last: a read takes the connection whose caches are warmest.
    idle: Mutex<Vec<SqliteConnection>>,
    /// One permit per connection that may exist, idle or lent.
    permits: Arc<Semaphore>,
    max_connections: u32,
}

impl SqliteReaders {
    /// Opens one connection now (so a bad file or path fails at start-up), the rest on
    /// demand, up to `max_connections`.
    pub(crate) async fn connect(
        options: SqliteConnectOptions,
        max_connections: u32,
    ) -> Result<Self, sqlx::Error> {
        let max_connections = max_connections.max(1);
        let first = options.connect().await?;
        Ok(Self {
            inner: Arc::new(Readers {
                options,
                idle: Mutex::new(vec![first]),
                permits: Arc::new(Semaphore::new(max_connections as usize)),
                max_connections,
            }),
        })
    }

    /// The options the readers connect with.
    pub fn connect_options(&self) -> &SqliteConnectOptions {
        &self.inner.options
    }

    /// Lends a connection until the lease is dropped.
    pub async fn acquire(&self) -> Result<ReaderLease, sqlx::Error> {
        let permit = tokio::time::timeout(
            ACQUIRE_TIMEOUT,
            Arc::clone(&self.inner.permits).acquire_owned(),
        )
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
        .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.inner.idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.inner.options.connect().await?,
        };
        Ok(ReaderLease {
            conn: Some(conn),
            readers: Arc::clone(&self.inner),
            _permit: permit,
        })
    }

    /// Refuses new reads, waits for lent connections to come back and closes them all.
    pub async fn close(&self) {
        let permits = &self.inner.permits;
        // Holding every permit means no connection is lent out (and reads already waiting
        // were served first: the semaphore is fair).
        let held = permits.acquire_many(self.inner.max_connections).await;
        permits.close();
        drop(held);
        let idle = std::mem::take(&mut *self.inner.idle());
        for conn in idle {
            let _ = conn.close().await;
        }
    }
}

impl Readers {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        // The list is valid whatever a panicking holder was doing: pushes and pops only.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection lent by [`SqliteReaders`]; derefs to it.
#[derive(Debug)]
pub struct ReaderLease {
    conn: Option<SqliteConnection>,
    readers: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for ReaderLease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let depth = SqliteTransactionManager::get_transaction_depth(&conn);
        if depth > 0 {
            tracing::warn!(depth, "closing a SQLite reader left inside a transaction");
            return; // Dropped: its worker closes the handle, which rolls back.
        }
        if self.readers.permits.is_closed() {
            return;
        }
        self.readers.idle().push(conn);
    }
}

impl Deref for ReaderLease {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("a lease holds its connection")
    }
}

impl DerefMut for ReaderLease {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("a lease holds its connection")
    }
}

/// Queries run on `&SqliteReaders` as on a sqlx pool: a connection is lent for the query.
/// Rows of a streaming query are gathered before they are handed on (the lease cannot
/// outlive this call); authlog's reads are bounded batches, and the full-log scans hold a
/// lease of their own.
impl<'p> Executor<'p> for &'_ SqliteReaders {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Sqlite>,
    {
        let readers = self.clone();
        stream::once(async move {
            let mut lease = readers.acquire().await?;
            let items: Vec<_> = lease.fetch_many(query).collect().await;
            Ok::<_, sqlx::Error>(stream::iter(items))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Sqlite>,
    {
        let readers = self.clone();
        Box::pin(async move { readers.acquire().await?.fetch_optional(query).await })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>> {
        let readers = self.clone();
        Box::pin(async move { readers.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>> {
        let readers = self.clone();
        Box::pin(async move { readers.acquire().await?.describe(sql).await })
    }
}
