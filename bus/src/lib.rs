//! The fan-out: the log is the outbox. A [`publisher::Publisher`] follows the log with the
//! safe cursor, hands each committed event to a [`Sink`] and checkpoints after the sink has
//! accepted it, so every event leaves exactly once in order, across crashes (at least once
//! on the wire; consumers deduplicate on the event id).
//!
//! Layout:
//! - [`subject`] - `auth.<aggregate>.<event>` subjects for events.
//! - [`in_process`] - the embedded default sink: a broadcast channel inside the process.
//! - [`publisher`] - the loop that reads, publishes and checkpoints.
//! - [`checkpoint`] - where a reader of the log has got to, stored beside the log.
//! - [`consumer`] - durable consumers with deduplication on the event id.
//! - [`email`] - the email consumer and its transports (SMTP, development mailbox).
//! - [`envelope`] - the versioned JSON envelope events travel in to other services.
//! - [`redaction`] - which payload fields are published, per event type (no secrets).
//! - [`nats`] - the JetStream sink, durable pull consumers and the ephemeral subscription
//!   that tells this instance about other instances' commits.
//! - [`publisher_lock`] - one publisher at a time across instances (PostgreSQL advisory lock).
//! - [`fanout`] - [`fanout::start`]: the publisher and every consumer, in the configured mode.
//!
//! Architecture invariant: nothing here writes projections or publishes from inside a
//! command; only committed events leave.

pub mod checkpoint;
pub mod consumer;
pub mod email;
pub mod envelope;
pub mod fanout;
pub mod in_process;
pub mod nats;
pub mod publisher;
pub mod publisher_lock;
pub mod redaction;
pub mod subject;
pub mod webhooks;

use authlog_eventstore::RecordedEvent;

/// Where the publisher sends events.
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// Accepts one event. Returning `Ok` means the event is durably handed over: the
    /// publisher checkpoints past it. An error makes the publisher retry the same event.
    async fn publish(&self, event: &RecordedEvent) -> Result<(), SinkError>;

    /// The id of the newest event this sink holds durably, if it can tell (JetStream: the
    /// stream's last message). The publisher starts after that event when it is ahead of
    /// the checkpoint, so the events published between the last checkpoint and a crash are
    /// not offered again, however long the process stayed down. `Ok(None)`: start from the
    /// checkpoint.
    async fn last_delivered(&self) -> Result<Option<uuid::Uuid>, SinkError> {
        Ok(None)
    }
}

/// A sink could not take an event now (e.g. the broker is down); it will be offered again.
#[derive(Debug, thiserror::Error)]
#[error("sink unavailable: {0}")]
pub struct SinkError(pub String);
