//! A fresh database per test, on the backend the suite runs against.
//!
//! `AUTHLOG_TEST_BACKEND=sqlite` (default) gives each test its own SQLite file in a temporary
//! directory. `AUTHLOG_TEST_BACKEND=postgres` creates a database named `authlog_t_<time>_<id>`
//! on `AUTHLOG_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! fails the test, never skips it, when PostgreSQL cannot be reached.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, PgConnection};

use crate::db::{Backend, Db, PoolSettings};

/// The backend this test run targets.
pub fn backend() -> Backend {
    match std::env::var("AUTHLOG_TEST_BACKEND").as_deref() {
        Ok("postgres") | Ok("postgresql") | Ok("pg") => Backend::Postgres,
        Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("AUTHLOG_TEST_BACKEND={other:?}: use sqlite or postgres"),
    }
}

/// The server-level PostgreSQL URL tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("AUTHLOG_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that lives as long as this value (SQLite) or until a later run sweeps it
/// (PostgreSQL databases older than an hour are dropped when a new one is made).
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create() -> Self {
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("authlog.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "AUTHLOG_TEST_BACKEND=postgres but PostgreSQL at {admin_url} is unreachable: {e}"
                    )
                });
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                sweep_old_databases(&mut admin, now).await;
                let name = format!("authlog_t_{now}_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .unwrap_or(&admin_url);
                Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                }
            }
        }
    }

    /// Connects and runs the migrations.
    pub async fn connect(&self) -> Db {
        let db = Db::connect(&self.url, &PoolSettings::default())
            .await
            .expect("connect");
        crate::migrate::run(&db).await.expect("migrate");
        db
    }
}

async fn sweep_old_databases(admin: &mut PgConnection, now: u64) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'authlog_t_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let created = name
            .strip_prefix("authlog_t_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|created| created + 3600 < now) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *admin)
                .await;
        }
    }
}
