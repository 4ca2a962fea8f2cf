//! Embedded migrations. Each backend has its own append-only list under `migrations/`;
//! `_authlog_migrations` records what ran. A landed migration is never edited.

use crate::db::{Db, Tx};
use crate::with_tx;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $dir, "/", $name, ".sql")),
        }),*]
    };
}

const SQLITE: &[Migration] = migrations!("sqlite":
    1 "0001_log",
    2 "0002_core_projections",
    3 "0003_consumers",
    4 "0004_projection_runner",
    5 "0005_verifications",
    6 "0006_webhooks",
    7 "0007_audit_log",
);

const POSTGRES: &[Migration] = migrations!("postgres":
    1 "0001_log",
    2 "0002_core_projections",
    3 "0003_consumers",
    4 "0004_projection_runner",
    5 "0005_verifications",
    6 "0006_webhooks",
    7 "0007_audit_log",
);

/// Applies every migration not yet applied, each in its own transaction, and returns the
/// names of those it ran. On PostgreSQL an advisory lock keeps two instances from
/// migrating at once.
pub async fn run(db: &Db) -> Result<Vec<&'static str>, sqlx::Error> {
    let list = match db {
        Db::Sqlite { .. } => SQLITE,
        Db::Postgres(_) => POSTGRES,
    };
    let mut applied = Vec::new();
    for migration in list {
        let mut tx = db.begin().await?;
        if let Tx::Postgres(transaction) = &mut tx {
            // Any fixed key will do; it only has to be the same for every instance.
            sqlx::query("SELECT pg_advisory_xact_lock(7262733140)")
                .execute(&mut **transaction)
                .await?;
        }
        let done: bool = with_tx!(&mut tx, |conn| {
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS _authlog_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *conn)
            .await?;
            let row: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM _authlog_migrations WHERE version = $1")
                    .bind(migration.version)
                    .fetch_optional(&mut *conn)
                    .await?;
            row.is_some()
        });
        if done {
            tx.rollback().await?;
            continue;
        }
        with_tx!(&mut tx, |conn| {
            sqlx::raw_sql(migration.sql).execute(&mut *conn).await?;
            sqlx::query(
                "INSERT INTO _authlog_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        tracing::info!(migration = migration.name, "applied migration");
        applied.push(migration.name);
    }
    Ok(applied)
}
