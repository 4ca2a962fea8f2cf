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
//!
//! Architecture invariant: nothing here writes projections or publishes from inside a
//! command; only committed events leave.

pub mod checkpoint;
pub mod consumer;
pub mod email;
pub mod in_process;
pub mod publisher;
pub mod subject;

use authlog_eventstore::RecordedEvent;

/// Where the publisher sends events.
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// Accepts one event. Returning `Ok` means the event is durably handed over: the
    /// publisher checkpoints past it. An error makes the publisher retry the same event.
    async fn publish(&self, event: &RecordedEvent) -> Result<(), SinkError>;
}

/// A sink could not take an event now (e.g. the broker is down); it will be offered again.
#[derive(Debug, thiserror::Error)]
#[error("sink unavailable: {0}")]
pub struct SinkError(pub String);
