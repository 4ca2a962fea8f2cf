//! Durable consumers: the side effects of events (mail, webhooks, external audit sinks).
//!
//! A consumer handles each event it wants once *in effect*: delivery is at least once (a
//! crash between the side effect and the record of it offers the event again), and the
//! `consumer_dedup` table, written after each success, keeps a redelivered or replayed event
//! from running twice. Side effects that can be made idempotent themselves (the dev mailbox
//! skips an event id it already holds; SMTP uses the event id as Message-ID) close the
//! remaining window.
//!
//! In the embedded default a consumer follows the log itself ([`follow_log`]), with its own
//! checkpoint; with NATS it reads its durable JetStream consumer. Both call [`Dedup::offer`].

use std::sync::Arc;

use authlog_eventstore::{with_reader, with_tx, Db, EventStore, RecordedEvent};
use tokio::sync::watch;

use crate::publisher::Publisher;
use crate::{Sink, SinkError};

/// Something that reacts to committed events.
#[async_trait::async_trait]
pub trait Consumer: Send + Sync {
    /// A stable name: the durable consumer's name, its checkpoint and its dedup key.
    fn name(&self) -> &'static str;
    /// Whether this consumer cares about an event type. Others are skipped (and recorded as
    /// handled, so they are not looked at again).
    fn wants(&self, event_type: &str) -> bool;
    /// Performs the side effect. An error means "offer it again later".
    async fn handle(&self, event: &RecordedEvent) -> Result<(), ConsumerError>;
}

/// A consumer failed for now; the event will be offered again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConsumerError(pub String);

/// Runs a consumer once per event id.
#[derive(Clone)]
pub struct Dedup {
    db: Db,
    consumer: Arc<dyn Consumer>,
}

impl Dedup {
    pub fn new(db: Db, consumer: Arc<dyn Consumer>) -> Self {
        Self { db, consumer }
    }

    pub fn name(&self) -> &'static str {
        self.consumer.name()
    }

    /// Whether the consumer cares about this event type at all.
    pub fn wants(&self, event_type: &str) -> bool {
        self.consumer.wants(event_type)
    }

    /// Hands `event` to the consumer unless it was handled before, then records it.
    pub async fn offer(&self, event: &RecordedEvent) -> Result<(), ConsumerError> {
        if !self.consumer.wants(&event.event_type) {
            return Ok(());
        }
        let name = self.consumer.name();
        let event_id = event.event_id.to_string();
        let seen: Option<(i64,)> = with_reader!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT handled_at FROM consumer_dedup WHERE consumer = $1 AND event_id = $2",
            )
            .bind(name)
            .bind(&event_id)
            .fetch_optional(pool)
            .await
            .map_err(|e| ConsumerError(format!("dedup lookup: {e}")))?
        });
        if seen.is_some() {
            return Ok(());
        }
        self.consumer.handle(event).await?;
        record(&self.db, name, &event_id)
            .await
            .map_err(|e| ConsumerError(format!("dedup record: {e}")))
    }
}

async fn record(db: &Db, consumer: &str, event_id: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |conn| {
        sqlx::query(
            "INSERT INTO consumer_dedup (consumer, event_id, handled_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(consumer)
        .bind(event_id)
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&mut *conn)
        .await?;
    });
    tx.commit().await
}

#[async_trait::async_trait]
impl Sink for Dedup {
    async fn publish(&self, event: &RecordedEvent) -> Result<(), SinkError> {
        self.offer(event)
            .await
            .map_err(|e| SinkError(e.to_string()))
    }
}

/// Runs a consumer in the embedded mode: it follows the log with its own checkpoint
/// (`consumer:<name>`) until `stop` turns true.
pub async fn follow_log(
    store: EventStore,
    consumer: Arc<dyn Consumer>,
    stop: watch::Receiver<bool>,
) -> Result<(), sqlx::Error> {
    let dedup = Dedup::new(store.db().clone(), consumer);
    let name = format!("consumer:{}", dedup.name());
    Publisher::new(store, Arc::new(dedup), name).run(stop).await
}
