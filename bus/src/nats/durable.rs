//! Consumers over NATS: one durable JetStream pull consumer per [`Consumer`], named after
//! it, shared by every instance.
//!
//! A message is acknowledged only after [`Dedup::offer`] succeeded, so a crash before the
//! ack redelivers it and the dedup record keeps the side effect from running twice.
//! `max_ack_pending = 1` hands out one event at a time across all instances, in stream
//! order, as [`crate::consumer::follow_log`] does in the embedded mode; a consumer that
//! fails on an event gets it again (after [`RETRY`]) before any later one.
//!
//! The message is a notice; the consumer gets the event itself from the log (by the id in
//! `Nats-Msg-Id`), so it sees exactly what it would see in the embedded mode, fields that are
//! never published included.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{self, AckKind};
use authlog_eventstore::EventStore;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::{ensure_stream, StreamConfig};
use crate::consumer::{Consumer, Dedup};
use crate::envelope::headers;

/// How long to wait before offering an event again after the consumer failed on it, and
/// before retrying NATS after an error.
const RETRY: Duration = Duration::from_millis(500);
/// How long one pull request waits on the server for messages.
const PULL_EXPIRES: Duration = Duration::from_secs(5);
/// How long the server waits for an ack before it redelivers (the consumer died or hangs).
const ACK_WAIT: Duration = Duration::from_secs(30);

/// Runs `consumer` from its durable JetStream consumer until `stop` turns true.
pub async fn run(
    context: jetstream::Context,
    config: StreamConfig,
    store: EventStore,
    consumer: Arc<dyn Consumer>,
    mut stop: watch::Receiver<bool>,
) {
    let dedup = Dedup::new(store.db().clone(), consumer.clone());
    while !*stop.borrow() {
        let durable = match durable_consumer(&context, &config, consumer.name()).await {
            Ok(durable) => durable,
            Err(error) => {
                tracing::warn!(%error, consumer = consumer.name(), "cannot open the durable consumer; retrying");
                pause(&mut stop).await;
                continue;
            }
        };
        if let Err(error) = drain(&durable, &store, &dedup, &mut stop).await {
            tracing::warn!(%error, consumer = consumer.name(), "pulling from NATS failed; retrying");
            pause(&mut stop).await;
        }
    }
}

async fn durable_consumer(
    context: &jetstream::Context,
    config: &StreamConfig,
    name: &str,
) -> Result<PullConsumer, async_nats::Error> {
    let stream = ensure_stream(context, config).await?;
    let consumer = stream
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_owned()),
                description: Some(format!("authlog consumer {name}")),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                max_ack_pending: 1,
                filter_subject: config.all_subjects(),
                ..pull::Config::default()
            },
        )
        .await?;
    Ok(consumer)
}

/// Pulls and handles messages until `stop` turns true or NATS fails.
async fn drain(
    durable: &PullConsumer,
    store: &EventStore,
    dedup: &Dedup,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    while !*stop.borrow() {
        let mut messages = durable
            .batch()
            .max_messages(16)
            .expires(PULL_EXPIRES)
            .messages()
            .await?;
        loop {
            let next = tokio::select! {
                next = messages.next() => next,
                _ = stop.changed() => return Ok(()),
            };
            let Some(message) = next else { break };
            if !handle(message?, store, dedup).await {
                // Redelivered after RETRY; later events wait for it (max_ack_pending = 1).
                break;
            }
        }
    }
    Ok(())
}

/// Offers one message's event to the consumer and acks, or naks it for a later retry.
/// Returns whether the consumer took it.
async fn handle(message: jetstream::Message, store: &EventStore, dedup: &Dedup) -> bool {
    let header = |name: &str| {
        message
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    let event_type = header(headers::TYPE).unwrap_or_default();
    let event_id = header(headers::MESSAGE_ID).and_then(|id| id.parse().ok());
    let event = match event_id {
        Some(event_id) if dedup.wants(&event_type) => store.load_event(event_id).await,
        // Not for this consumer: nothing to load.
        Some(_) => Ok(None),
        None => {
            tracing::warn!(subject = %message.subject, "a message without an event id; skipping it");
            Ok(None)
        }
    };
    let outcome = match event {
        Ok(Some(event)) => dedup.offer(&event).await.map_err(|e| e.to_string()),
        Ok(None) if dedup.wants(&event_type) && event_id.is_some() => {
            // Published from another log into the same stream: not ours to handle.
            tracing::warn!(subject = %message.subject, ?event_id, consumer = dedup.name(), "event not in this log; skipping it");
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(error) => Err(format!("reading the log: {error}")),
    };
    match outcome {
        Ok(()) => {
            // A lost ack means a redelivery, which the dedup record absorbs.
            if let Err(error) = message.double_ack().await {
                tracing::warn!(%error, consumer = dedup.name(), "ack not confirmed; the event may come again");
            }
            true
        }
        Err(error) => {
            tracing::warn!(%error, consumer = dedup.name(), ?event_id, "consumer failed; offering the event again");
            let _ = message.ack_with(AckKind::Nak(Some(RETRY))).await;
            false
        }
    }
}

async fn pause(stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(RETRY) => {}
        _ = stop.changed() => {}
    }
}
