//! What other instances committed: every instance subscribes (plain NATS, ephemeral, no
//! JetStream consumer) to the session and user subjects and hands what it hears to a
//! handler, so it stops serving sessions and users from its in-process cache once another
//! instance changed them.
//!
//! Missing a message (this instance was disconnected) costs only freshness: the cache's
//! time to live still bounds how long a stale entry is served.

use std::sync::Arc;
use std::time::Duration;

use authlog_eventstore::RecordedEvent;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::StreamConfig;
use crate::envelope::Envelope;

/// Receives events other instances committed (its own ones too; they are harmless). The
/// events are rebuilt from envelopes: their payloads are the published `data`.
pub type RemoteEventHandler = Arc<dyn Fn(&[RecordedEvent]) + Send + Sync>;

/// The aggregates whose changes other instances must hear about.
const FOLLOWED_AGGREGATES: &[&str] = &["session", "user"];

/// Subscribes to `<prefix>.session.*` and `<prefix>.user.*` and calls `handler` for each
/// event until `stop` turns true.
pub async fn follow(
    client: async_nats::Client,
    config: StreamConfig,
    handler: RemoteEventHandler,
    mut stop: watch::Receiver<bool>,
) {
    let mut subscriptions = Vec::new();
    for aggregate in FOLLOWED_AGGREGATES {
        let subject = format!("{}.{aggregate}.*", config.subject_prefix);
        loop {
            // Subscribing only fails on a closed client; the subscription itself survives
            // reconnections.
            match client.subscribe(subject.clone()).await {
                Ok(subscription) => {
                    subscriptions.push(subscription);
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, %subject, "cannot subscribe; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }
    let mut messages = futures_util::stream::select_all(subscriptions);
    loop {
        let message = tokio::select! {
            message = messages.next() => message,
            _ = stop.changed() => return,
        };
        let Some(message) = message else { return };
        match serde_json::from_slice::<Envelope>(&message.payload) {
            Ok(envelope) => handler(&[envelope.into_recorded_event()]),
            Err(error) => {
                tracing::warn!(%error, subject = %message.subject, "not an event envelope; ignored");
            }
        }
    }
}
