//! One publisher at a time across instances.
//!
//! On PostgreSQL the publisher holds a session advisory lock on a connection of its own for
//! as long as it publishes; the other instances stand by and try again. If that connection
//! breaks, PostgreSQL releases the lock, so the holder checks its connection regularly and
//! stops publishing when it is gone (another instance may already have taken over; for that
//! short overlap JetStream's duplicate window drops the events both publish).
//!
//! SQLite is one process by construction (one file, one writer): the lock is always granted.

use authlog_eventstore::Db;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, Postgres};

/// The advisory lock key of the NATS publisher. Any fixed number will do; it only has to
/// be the same for every instance and differ from the other keys (migrations use
/// 7262733140).
const PUBLISHER_LOCK_KEY: i64 = 7_262_733_141;

/// The right to publish, held until dropped or [`PublisherLock::release`]d.
#[derive(Debug)]
pub struct PublisherLock {
    /// `None` on SQLite.
    connection: Option<PgConnection>,
}

impl PublisherLock {
    /// Takes the lock if no other instance holds it. `Ok(None)`: another instance publishes.
    pub async fn try_acquire(db: &Db) -> Result<Option<Self>, sqlx::Error> {
        let pool = match db {
            Db::Sqlite { .. } => return Ok(Some(Self { connection: None })),
            Db::Postgres(pool) => pool,
        };
        let mut connection: PoolConnection<Postgres> = pool.acquire().await?;
        let (granted,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(PUBLISHER_LOCK_KEY)
            .fetch_one(&mut *connection)
            .await?;
        if !granted {
            // Nothing is held on it: back to the pool.
            return Ok(None);
        }
        // Detached from the pool: the lock lives as long as this session, and the pool must
        // neither hand the connection to someone else nor close it when idle.
        Ok(Some(Self {
            connection: Some(connection.detach()),
        }))
    }

    /// Fails once the session that holds the lock is gone (and with it the lock).
    pub async fn check(&mut self) -> Result<(), sqlx::Error> {
        match &mut self.connection {
            None => Ok(()),
            Some(connection) => connection.ping().await,
        }
    }

    /// Gives the lock up now (dropping the value also does, when the connection closes).
    pub async fn release(self) {
        if let Some(mut connection) = self.connection {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PUBLISHER_LOCK_KEY)
                .execute(&mut connection)
                .await;
            let _ = connection.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use authlog_eventstore::testing::TestDatabase;
    use authlog_eventstore::Backend;

    use super::PublisherLock;

    #[tokio::test]
    async fn only_one_instance_holds_the_lock_until_it_lets_go() {
        let database = TestDatabase::create().await;
        let first_instance = database.connect().await;
        let second_instance = database.connect().await;
        let mut held = PublisherLock::try_acquire(&first_instance)
            .await
            .unwrap()
            .expect("the first instance gets the lock");
        held.check().await.unwrap();
        let second = PublisherLock::try_acquire(&second_instance).await.unwrap();
        match first_instance.backend() {
            // One process per SQLite file: nothing to arbitrate.
            Backend::Sqlite => assert!(second.is_some()),
            Backend::Postgres => {
                assert!(second.is_none(), "two instances hold the publisher lock");
                held.release().await;
                assert!(PublisherLock::try_acquire(&second_instance)
                    .await
                    .unwrap()
                    .is_some());
            }
        }
    }
}
