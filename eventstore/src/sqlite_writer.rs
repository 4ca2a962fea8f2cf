//! The one SQLite connection that writes, held outside any pool (the live file's writer,
//! and a rebuild's scratch file's).
//!
//! sqlx's pool pings a connection every time it comes back (a round trip to the
//! connection's worker thread after every write transaction) and counts a `BEGIN IMMEDIATE`
//! as open before it has run, which left a connection marked inside a transaction when its
//! caller was cancelled. The writer is one connection anyway, so it is kept here behind a
//! mutex, and the transaction's state is ours: marked open before `BEGIN` is sent, cleared
//! when `COMMIT` or `ROLLBACK` has run. A write dropped unfinished (a client hung up, an
//! error returned early) is rolled back by a task right away; if no runtime is left to run
//! that task, the next `begin` rolls back first.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The writer connection (cheap to clone: every clone is the same connection).
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    slot: Arc<Mutex<Slot>>,
    options: Arc<SqliteConnectOptions>,
}

#[derive(Debug)]
struct Slot {
    /// `None` after [`SqliteWriter::close`], or after the connection failed and before
    /// the next `begin` opens another.
    conn: Option<SqliteConnection>,
    /// A transaction may be open on `conn`: set before `BEGIN` is sent, cleared when
    /// `COMMIT` or `ROLLBACK` has run.
    open: bool,
    closed: bool,
}

impl SqliteWriter {
    pub async fn connect(options: SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let conn = options.connect().await?;
        Ok(Self {
            slot: Arc::new(Mutex::new(Slot {
                conn: Some(conn),
                open: false,
                closed: false,
            })),
            options: Arc::new(options),
        })
    }

    /// The options the writer connects with (a second file next to this one reuses them).
    pub fn connect_options(&self) -> &SqliteConnectOptions {
        &self.options
    }

    /// Waits for the writer, then `BEGIN IMMEDIATE`: the write lock is taken up front, so
    /// another process (a CLI rebuild) waits instead of failing half-way.
    pub async fn begin(&self) -> Result<SqliteWrite, sqlx::Error> {
        let mut slot = Arc::clone(&self.slot).lock_owned().await;
        if slot.closed {
            return Err(sqlx::Error::PoolClosed);
        }
        if slot.open {
            finish(&mut slot, End::Rollback).await.ok();
        }
        if slot.conn.is_none() {
            slot.conn = Some(self.options.connect().await?);
        }
        slot.open = true;
        // Owned by the write from here: a caller cancelled while BEGIN runs drops it, and
        // its drop rolls back whatever BEGIN left.
        let mut write = SqliteWrite { slot: Some(slot) };
        if let Err(error) = sqlx::Executor::execute(&mut *write, "BEGIN IMMEDIATE").await {
            let slot = write.slot.as_mut().expect("made above");
            // Nothing began (e.g. the busy timeout passed). A connection whose worker is
            // gone is replaced at the next begin (as `finish` does for COMMIT and ROLLBACK).
            slot.open = false;
            if matches!(error, sqlx::Error::WorkerCrashed | sqlx::Error::Io(_)) {
                slot.conn = None;
            }
            return Err(error);
        }
        Ok(write)
    }

    /// Waits for a write in progress, rolls back one left open and closes the connection.
    pub async fn close(&self) {
        let mut slot = self.slot.lock().await;
        slot.closed = true;
        if slot.open {
            finish(&mut slot, End::Rollback).await.ok();
        }
        if let Some(conn) = slot.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// How a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Commit,
    Rollback,
}

/// Runs `COMMIT` or `ROLLBACK`. After a ROLLBACK the transaction is over whatever it returned
/// (one after a COMMIT that ran finds no transaction and says so); after a COMMIT only if it
/// succeeded.
async fn finish(slot: &mut Slot, end: End) -> Result<(), sqlx::Error> {
    let Some(conn) = slot.conn.as_mut() else {
        slot.open = false;
        return Ok(());
    };
    let statement = match end {
        End::Commit => "COMMIT",
        End::Rollback => "ROLLBACK",
    };
    let done = sqlx::Executor::execute(conn, statement).await.map(drop);
    if end == End::Rollback || done.is_ok() {
        slot.open = false;
    }
    if matches!(done, Err(sqlx::Error::WorkerCrashed | sqlx::Error::Io(_))) {
        // The connection is gone, and its transaction with it: the next begin opens another.
        slot.conn = None;
        slot.open = false;
    }
    if let (Err(error), End::Rollback) = (&done, end) {
        tracing::debug!(%error, "rolling back the SQLite writer");
    }
    done
}

/// A write transaction on a [`SqliteWriter`]; derefs to its connection. Holds the writer
/// until committed, rolled back or dropped.
#[derive(Debug)]
pub struct SqliteWrite {
    /// `None` once committed or rolled back.
    slot: Option<OwnedMutexGuard<Slot>>,
}

impl SqliteWrite {
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let mut slot = self.slot.take().expect("a write is finished once");
        let committed = finish(&mut slot, End::Commit).await;
        if slot.open {
            // COMMIT failed: the transaction is still open; roll it back now.
            finish(&mut slot, End::Rollback).await.ok();
        }
        committed
    }

    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let mut slot = self.slot.take().expect("a write is finished once");
        finish(&mut slot, End::Rollback).await
    }
}

impl Drop for SqliteWrite {
    fn drop(&mut self) {
        let Some(mut slot) = self.slot.take() else {
            return;
        };
        if !slot.open {
            return;
        }
        // Roll back now rather than at the next begin: the open transaction holds the
        // file's write lock, which other processes wait on. Without a runtime (shutting
        // down), the flag stays set and the next begin, if any, rolls back first.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                finish(&mut slot, End::Rollback).await.ok();
            });
        }
    }
}

impl Deref for SqliteWrite {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.slot
            .as_ref()
            .and_then(|slot| slot.conn.as_ref())
            .expect("an unfinished write has its connection")
    }
}

impl DerefMut for SqliteWrite {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.slot
            .as_mut()
            .and_then(|slot| slot.conn.as_mut())
            .expect("an unfinished write has its connection")
    }
}
