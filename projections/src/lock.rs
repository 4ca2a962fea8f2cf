//! PostgreSQL session advisory locks: one runner per projection across instances, one
//! rebuild per projection at a time.
//!
//! Each lock lives on a connection of its own, opened for it and closed with it, never a
//! pooled one: a pooled connection would go back to the pool still holding the lock. If the
//! process dies, PostgreSQL ends the session and the lock is free again. SQLite is one
//! process's file (the embedded mode), so there is nothing to take there.

use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// A held lock. Dropping it closes its connection, which releases the lock.
#[derive(Debug)]
pub struct AdvisoryLock {
    connection: PgConnection,
    key: String,
}

impl AdvisoryLock {
    /// Takes the lock named `key` if it is free.
    pub async fn try_acquire(pool: &PgPool, key: &str) -> Result<Option<Self>, sqlx::Error> {
        let mut connection = pool.connect_options().connect().await?;
        let (taken,): (bool,) =
            sqlx::query_as("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(key)
                .fetch_one(&mut connection)
                .await?;
        if taken {
            Ok(Some(Self {
                connection,
                key: key.to_owned(),
            }))
        } else {
            let _ = connection.close().await;
            Ok(None)
        }
    }

    /// Waits for the lock named `key`.
    pub async fn acquire(pool: &PgPool, key: &str) -> Result<Self, sqlx::Error> {
        let mut connection = pool.connect_options().connect().await?;
        sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut connection)
            .await?;
        Ok(Self {
            connection,
            key: key.to_owned(),
        })
    }

    /// Whether the session holding the lock is still alive (a lost connection lost the lock).
    pub async fn is_held(&mut self) -> bool {
        self.connection.ping().await.is_ok()
    }

    /// Releases the lock and closes its connection.
    pub async fn release(mut self) {
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
            .bind(&self.key)
            .execute(&mut self.connection)
            .await;
        let _ = self.connection.close().await;
    }
}
