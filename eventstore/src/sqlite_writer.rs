//! The one SQLite connection that writes, held outside any pool.
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
use sqlx::{ConnectOptions, Connection, Sqlite, SqliteConnection, Transaction};
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
    pub(crate) async fn connect(options: SqliteConnectOptions) -> Result<Self, sqlx::Error> {
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
            finish(&mut slot, "ROLLBACK").await.ok();
        }
        if slot.conn.is_none() {
            slot.conn = Some(self.options.connect().await?);
        }
        slot.open = true;
        // Owned by the write from here: a caller cancelled while BEGIN runs drops it, and
        // its drop rolls back whatever BEGIN left.
        let mut write = SqliteWrite(Write::Writer(Some(slot)));
        if let Err(error) = sqlx::Executor::execute(&mut *write, "BEGIN IMMEDIATE").await {
            let Write::Writer(Some(slot)) = &mut write.0 else {
                unreachable!("made above")
            };
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
            finish(&mut slot, "ROLLBACK").await.ok();
        }
        if let Some(conn) = slot.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// Runs `COMMIT` or `ROLLBACK`; the transaction is over when it has run, whatever it
/// returned (a `ROLLBACK` after a `COMMIT` that ran finds no transaction and says so).
async fn finish(slot: &mut Slot, statement: &'static str) -> Result<(), sqlx::Error> {
    let Some(conn) = slot.conn.as_mut() else {
        slot.open = false;
        return Ok(());
    };
    let done = sqlx::Executor::execute(conn, statement).await.map(drop);
    if statement == "ROLLBACK" || done.is_ok() {
        slot.open = false;
    }
    if matches!(done, Err(sqlx::Error::WorkerCrashed | sqlx::Error::Io(_))) {
        // The connection is gone, and its transaction with it: the next begin opens another.
        slot.conn = None;
        slot.open = false;
    }
    if let (Err(error), "ROLLBACK") = (&done, statement) {
        tracing::debug!(%error, "rolling back the SQLite writer");
    }
    done
}

/// A write transaction on SQLite: on the writer, or (for a scratch database a rebuild
/// fills) a pooled sqlx transaction.
#[derive(Debug)]
pub struct SqliteWrite(Write);

#[derive(Debug)]
enum Write {
    /// `None` once committed or rolled back.
    Writer(Option<OwnedMutexGuard<Slot>>),
    /// `None` once committed or rolled back.
    Pooled(Option<Transaction<'static, Sqlite>>),
}

impl SqliteWrite {
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        match &mut self.0 {
            Write::Writer(slot) => {
                let mut slot = slot.take().expect("a write is finished once");
                let committed = finish(&mut slot, "COMMIT").await;
                if slot.open {
                    // COMMIT failed: the transaction is still open; roll it back now.
                    finish(&mut slot, "ROLLBACK").await.ok();
                }
                committed
            }
            Write::Pooled(transaction) => {
                let transaction = transaction.take().expect("a write is finished once");
                transaction.commit().await
            }
        }
    }

    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        match &mut self.0 {
            Write::Writer(slot) => {
                let mut slot = slot.take().expect("a write is finished once");
                finish(&mut slot, "ROLLBACK").await
            }
            Write::Pooled(transaction) => {
                let transaction = transaction.take().expect("a write is finished once");
                transaction.rollback().await
            }
        }
    }
}

impl From<Transaction<'static, Sqlite>> for SqliteWrite {
    fn from(transaction: Transaction<'static, Sqlite>) -> Self {
        Self(Write::Pooled(Some(transaction)))
    }
}

impl Drop for SqliteWrite {
    fn drop(&mut self) {
        let Write::Writer(slot) = &mut self.0 else {
            return; // sqlx's transaction rolls itself back.
        };
        let Some(mut slot) = slot.take() else {
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
                finish(&mut slot, "ROLLBACK").await.ok();
            });
        }
    }
}

impl Deref for SqliteWrite {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match &self.0 {
            Write::Writer(slot) => slot
                .as_ref()
                .and_then(|slot| slot.conn.as_ref())
                .expect("an unfinished write has its connection"),
            Write::Pooled(transaction) => transaction
                .as_ref()
                .expect("an unfinished write has its transaction"),
        }
    }
}

impl DerefMut for SqliteWrite {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match &mut self.0 {
            Write::Writer(slot) => slot
                .as_mut()
                .and_then(|slot| slot.conn.as_mut())
                .expect("an unfinished write has its connection"),
            Write::Pooled(transaction) => transaction
                .as_mut()
                .expect("an unfinished write has its transaction"),
        }
    }
}
