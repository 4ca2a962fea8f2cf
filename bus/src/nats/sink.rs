//! The publisher's sink onto JetStream: one message per event, acknowledged by the stream
//! before the publisher moves on.

use std::sync::atomic::{AtomicBool, Ordering};

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::stream::RawMessageErrorKind;
use async_nats::jetstream::{self, stream::Stream};
use async_nats::HeaderMap;
use authlog_eventstore::RecordedEvent;

use super::{ensure_stream, StreamConfig};
use crate::envelope::{headers, Envelope};
use crate::{Sink, SinkError};

/// Publishes each event's [`Envelope`] to `<prefix>.<event type>` with `Nats-Msg-Id` = the
/// event id, so a second publish of the same event (a retry whose first ack was lost) is
/// dropped by the stream.
pub struct JetStreamSink {
    context: jetstream::Context,
    config: StreamConfig,
    /// Whether the stream has been created or updated to `config` (again after it was
    /// found missing).
    stream_ready: AtomicBool,
}

impl JetStreamSink {
    pub fn new(context: jetstream::Context, config: StreamConfig) -> Self {
        Self {
            context,
            config,
            stream_ready: AtomicBool::new(false),
        }
    }

    async fn ensure_stream(&self) -> Result<Stream, SinkError> {
        let stream = ensure_stream(&self.context, &self.config)
            .await
            .map_err(|e| SinkError(format!("creating stream {}: {e}", self.config.name)))?;
        self.stream_ready.store(true, Ordering::SeqCst);
        Ok(stream)
    }
}

/// The message of an event: its subject, headers and JSON body.
pub fn message(config: &StreamConfig, event: &RecordedEvent) -> (String, HeaderMap, Vec<u8>) {
    let mut message_headers = HeaderMap::new();
    message_headers.insert(headers::MESSAGE_ID, event.event_id.to_string().as_str());
    message_headers.insert(headers::TYPE, event.event_type.as_str());
    message_headers.insert(headers::VERSION, event.event_version.to_string().as_str());
    message_headers.insert(
        headers::POSITION,
        event.global_position.to_string().as_str(),
    );
    message_headers.insert("Content-Type", "application/json");
    let body = serde_json::to_vec(&Envelope::of(event)).expect("an envelope serializes");
    (config.subject(&event.event_type), message_headers, body)
}

#[async_trait::async_trait]
impl Sink for JetStreamSink {
    async fn publish(&self, event: &RecordedEvent) -> Result<(), SinkError> {
        if !self.stream_ready.load(Ordering::SeqCst) {
            self.ensure_stream().await?;
        }
        let (subject, message_headers, body) = message(&self.config, event);
        let pending = self
            .context
            .publish_with_headers(subject, message_headers, body.into())
            .await
            .map_err(|e| SinkError(format!("publishing: {e}")))?;
        match pending.await {
            // `duplicate`: the stream already held it (an earlier attempt's ack was lost).
            Ok(_ack) => Ok(()),
            Err(error) if error.kind() == PublishErrorKind::StreamNotFound => {
                // Deleted under us: create it again on the next attempt.
                self.stream_ready.store(false, Ordering::SeqCst);
                Err(SinkError(format!("stream {} not found", self.config.name)))
            }
            Err(error) => Err(SinkError(format!("waiting for the stream's ack: {error}"))),
        }
    }

    async fn last_delivered(&self) -> Result<Option<uuid::Uuid>, SinkError> {
        let stream = self.ensure_stream().await?;
        let info = stream
            .get_info()
            .await
            .map_err(|e| SinkError(format!("stream info: {e}")))?;
        if info.state.last_sequence == 0 || info.state.messages == 0 {
            return Ok(None);
        }
        let message = match stream.get_raw_message(info.state.last_sequence).await {
            Ok(message) => message,
            // Expired (max age) or deleted.
            Err(error) if error.kind() == RawMessageErrorKind::NoMessageFound => return Ok(None),
            Err(error) => return Err(SinkError(format!("reading the last message: {error}"))),
        };
        Ok(message
            .headers
            .get(headers::MESSAGE_ID)
            .and_then(|id| id.as_str().parse().ok()))
    }
}
