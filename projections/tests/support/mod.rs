//! Shared by the projection suites: a fresh database with the core inline projections, a
//! driver that appends what users signing in and out append, and `EventLog`, an async
//! projection that records which events it applied and fails on demand.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use authlog_domain::session::{RevokeReason, SessionEvent};
use authlog_domain::user::UserEvent;
use authlog_domain::values::{Email, Name, SessionId, TokenHash, UserId};
use authlog_eventstore::testing::TestDatabase;
use authlog_eventstore::{
    with_reader, with_tx, AppendRequest, Db, EventStore, Metadata, NewEvent, RecordedEvent,
    StreamAppend, Tx, Upcasters,
};
use authlog_projections::{OnFailure, Projection, Table, Target};
use chrono::{DateTime, Utc};

/// A migrated database and a store on it with the core inline projections.
pub async fn store() -> (TestDatabase, EventStore) {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    (database, store)
}

/// Another store on the same database, with pools of its own: what a second process (a CLI
/// next to the server) has.
pub async fn open(database: &TestDatabase) -> EventStore {
    let db = database.connect().await;
    EventStore::open(
        db,
        Upcasters::default(),
        authlog_projections::inline(&authlog_projections::core()),
    )
    .await
    .unwrap()
}

/// Appends what the service appends for users signing up, in and out.
pub struct Users {
    store: EventStore,
    now: DateTime<Utc>,
    counter: u64,
    /// Open sessions: id and stream version.
    pub open: Vec<(String, i64)>,
    pub user_ids: Vec<String>,
}

impl Users {
    pub fn new(store: &EventStore) -> Self {
        Self {
            store: store.clone(),
            now: Utc::now() - chrono::Duration::days(1),
            counter: 0,
            open: Vec::new(),
            user_ids: Vec::new(),
        }
    }

    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        self.now += chrono::Duration::milliseconds(7);
        format!(
            "{prefix}{:06}-{}",
            self.counter,
            uuid::Uuid::new_v4().simple()
        )
    }

    async fn append(&self, request: AppendRequest) {
        self.store.append(request).await.unwrap();
    }

    pub async fn sign_up(&mut self) -> String {
        let user_id = self.next("u");
        let mut request = AppendRequest::new(Metadata::system(), self.now);
        let created = UserEvent::Created {
            user_id: UserId::new(user_id.clone()),
            email: Email::from_stored(format!("{user_id}@example.com")),
            name: Name::parse("Test"),
            image: None,
            email_verified: false,
        };
        let claims = created.unique_claims(&UserId::new(user_id.clone()));
        request.push(&user_id, 0, &[created], claims);
        self.append(request).await;
        self.user_ids.push(user_id.clone());
        user_id
    }

    pub async fn sign_in(&mut self, user_id: &str) -> String {
        let session_id = self.next("s");
        let mut request = AppendRequest::new(Metadata::system(), self.now);
        let created = SessionEvent::Created {
            session_id: SessionId::new(session_id.clone()),
            user_id: UserId::new(user_id.to_owned()),
            token_hash: TokenHash::from_hex(format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            )),
            expires_at: self.now + chrono::Duration::days(7),
            ip_address: "203.0.113.9".to_owned(),
            user_agent: "test".to_owned(),
            dont_remember: false,
        };
        request.push(&session_id, 0, &[created], []);
        self.append(request).await;
        self.open.push((session_id.clone(), 1));
        session_id
    }

    /// Refreshes the oldest open session.
    pub async fn refresh(&mut self) {
        let Some((session_id, version)) = self.open.first().cloned() else {
            return;
        };
        self.now += chrono::Duration::milliseconds(7);
        let mut request = AppendRequest::new(Metadata::system(), self.now);
        let refreshed = SessionEvent::Refreshed {
            expires_at: self.now + chrono::Duration::days(7),
        };
        request.push(&session_id, version, &[refreshed], []);
        self.append(request).await;
        self.open[0].1 += 1;
    }

    /// Signs the oldest open session out.
    pub async fn sign_out(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let (session_id, version) = self.open.remove(0);
        self.now += chrono::Duration::milliseconds(7);
        let mut request = AppendRequest::new(Metadata::system(), self.now);
        let revoked = SessionEvent::Revoked {
            reason: RevokeReason::SignOut,
        };
        request.push(&session_id, version, &[revoked], []);
        self.append(request).await;
    }

    /// `rounds` users, each signing in twice, refreshing, and signing one session out.
    pub async fn workload(&mut self, rounds: usize) {
        for _ in 0..rounds {
            let user = self.sign_up().await;
            self.sign_in(&user).await;
            self.sign_in(&user).await;
            self.refresh().await;
            self.sign_out().await;
        }
    }
}

/// The number of rows of `table`.
pub async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let (count,): (i64,) = with_reader!(db, |pool| {
        sqlx::query_as(&sql).fetch_one(pool).await.unwrap()
    });
    count
}

/// Runs one statement in a transaction of its own.
pub async fn execute(db: &Db, sql: &str) {
    let mut tx = db.begin().await.unwrap();
    with_tx!(&mut tx, |conn| {
        sqlx::raw_sql(sql).execute(&mut *conn).await.unwrap();
    });
    tx.commit().await.unwrap();
}

/// Appends `count` events of a `test` stream (ignored by the core projections); those whose
/// number is in `poisoned` carry `"poison": true`.
pub async fn append_test_events(store: &EventStore, stream: &str, count: i64, poisoned: &[i64]) {
    let mut request = AppendRequest::new(Metadata::system(), Utc::now());
    let expected_version = store.load_stream("test", stream).await.unwrap().len() as i64;
    request.streams.push(StreamAppend {
        aggregate_type: "test".into(),
        aggregate_id: stream.into(),
        expected_version,
        events: (1..=count)
            .map(|number| NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: "test.happened".into(),
                event_version: 1,
                payload: serde_json::json!({"number": number, "poison": poisoned.contains(&number)}),
            })
            .collect(),
    });
    store.append(request).await.unwrap();
}

/// An async projection writing one row per event into `event_log` (position, type, label).
/// While `broken` is set, events with `"poison": true` fail.
pub struct EventLog {
    pub label: &'static str,
    pub version: i32,
    pub policy: OnFailure,
    pub broken: Arc<AtomicBool>,
}

impl EventLog {
    pub fn new(label: &'static str, policy: OnFailure) -> Self {
        Self {
            label,
            version: 1,
            policy,
            broken: Arc::new(AtomicBool::new(false)),
        }
    }
}

const EVENT_LOG: &[Table] = &[Table {
    name: "event_log",
    columns: &["position", "event_type", "label"],
}];

/// Creates the table `EventLog` writes to (a migration would, for a real projection).
pub async fn create_event_log_table(db: &Db) {
    execute(
        db,
        "CREATE TABLE event_log (position BIGINT PRIMARY KEY, event_type TEXT NOT NULL, label TEXT NOT NULL)",
    )
    .await;
    execute(db, "CREATE INDEX event_log_type ON event_log (event_type)").await;
}

#[async_trait::async_trait]
impl Projection for EventLog {
    fn name(&self) -> &'static str {
        "event_log"
    }

    fn version(&self) -> i32 {
        self.version
    }

    fn tables(&self) -> &'static [Table] {
        EVENT_LOG
    }

    fn on_failure(&self) -> OnFailure {
        self.policy
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO {} (position, event_type, label) VALUES ($1, $2, $3)",
            target.table("event_log")
        );
        for event in events {
            if self.broken.load(Ordering::SeqCst) && event.payload["poison"] == true {
                return Err(sqlx::Error::Protocol(format!(
                    "poisoned event {}",
                    event.global_position
                )));
            }
            with_tx!(&mut *tx, |conn| {
                sqlx::query(&sql)
                    .bind(event.global_position)
                    .bind(&event.event_type)
                    .bind(self.label)
                    .execute(&mut *conn)
                    .await?;
            });
        }
        Ok(())
    }
}

/// The positions in `event_log`, with their labels, in order.
pub async fn event_log(db: &Db) -> Vec<(i64, String)> {
    with_reader!(db, |pool| {
        sqlx::query_as("SELECT position, label FROM event_log ORDER BY position")
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

/// Waiting for something that happens soon: on PostgreSQL the safe cursor holds events
/// back while any older transaction of the cluster runs (other tests), so "soon" is all a
/// test can expect. Gives up, failing the test, after a minute.
pub struct Patience {
    what: &'static str,
    deadline: tokio::time::Instant,
}

impl Patience {
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            deadline: tokio::time::Instant::now() + Duration::from_secs(60),
        }
    }

    /// Sleeps a little before the next look.
    pub async fn wait(&self) {
        assert!(
            tokio::time::Instant::now() < self.deadline,
            "never happened: {}",
            self.what
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
