//! SQLite: a private database file where the replay builds the shadow tables.
//!
//! Replaying straight into shadow tables of the live file would commit every batch through
//! the write-ahead log, rewriting most pages of the growing table at every commit (a
//! million-event replay wrote gigabytes), and each batch would hold the file's single write
//! lock, delaying the server's appends. The scratch file has no journal and no fsync (it is
//! thrown away if anything goes wrong), a large page cache, and a single transaction for the
//! whole replay, so pages are written about once. Its tables are then copied into the live
//! file's shadow tables in one transaction (`INSERT INTO ... SELECT *`, which SQLite turns
//! into a page-by-page copy) and the rebuild carries on from there.

use std::path::PathBuf;

use authlog_eventstore::{Db, SqliteWriter, Tx};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use super::shadow::ShadowTable;

/// Page cache of the scratch file, in KiB (negative: KiB rather than pages).
const CACHE_KIB: &str = "-262144";

pub(crate) struct Scratch {
    path: PathBuf,
    /// The one connection to the scratch file.
    writer: SqliteWriter,
    main: SqliteConnectOptions,
}

impl Scratch {
    /// Creates the scratch file next to the live database, with empty copies of the shadow
    /// tables. `None` on PostgreSQL, which has no use for it.
    pub(crate) async fn create(
        db: &Db,
        projection: &str,
        shadows: &[ShadowTable],
    ) -> Result<Option<Self>, sqlx::Error> {
        let Db::Sqlite { writer, reader } = db else {
            return Ok(None);
        };
        let main = writer.connect_options().clone();
        let mut path = main.get_filename().as_os_str().to_owned();
        path.push(format!(".rebuild-{projection}"));
        let path = PathBuf::from(path);
        remove_file(&path);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off)
            .pragma("cache_size", CACHE_KIB);
        let writer = SqliteWriter::connect(options).await?;
        let scratch = Self { path, writer, main };
        let mut tx = scratch.writer.begin().await?;
        for shadow in shadows {
            let (create,): (String,) =
                sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                    .bind(&shadow.shadow)
                    .fetch_one(reader)
                    .await?;
            sqlx::raw_sql(&create).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Some(scratch))
    }

    /// The transaction the whole replay writes in.
    pub(crate) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(Tx::Sqlite(self.writer.begin().await?))
    }

    /// Copies the scratch tables into the (empty) shadow tables of the live file, in one
    /// transaction on a connection of its own (it waits for the server's writes like any
    /// writer), then deletes the scratch file.
    pub(crate) async fn copy_into(self, shadows: &[ShadowTable]) -> Result<(), sqlx::Error> {
        self.writer.close().await;
        let mut connection = self.main.clone().connect().await?;
        sqlx::query("ATTACH DATABASE $1 AS scratch")
            .bind(self.path.to_string_lossy().as_ref())
            .execute(&mut connection)
            .await?;
        let mut copy = String::from("BEGIN IMMEDIATE;");
        for shadow in shadows {
            copy.push_str(&format!(
                "INSERT INTO main.{0} SELECT * FROM scratch.{0};",
                shadow.shadow
            ));
        }
        copy.push_str("COMMIT;");
        let copied = sqlx::raw_sql(&copy).execute(&mut connection).await;
        let _ = connection.close().await;
        remove_file(&self.path);
        copied.map(drop)
    }

    /// Throws the scratch file away (a rebuild that failed).
    pub(crate) async fn discard(self) {
        self.writer.close().await;
        remove_file(&self.path);
    }
}

fn remove_file(path: &PathBuf) {
    if let Err(error) = std::fs::remove_file(path) {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(%error, path = %path.display(), "could not remove a rebuild's scratch file");
        }
    }
}
