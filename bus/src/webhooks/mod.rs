//! Webhooks: Better Auth's database hooks for services outside the process. Each committed
//! event that a webhook's filter matches is POSTed to its URL as the published envelope
//! (`docs/events.md`), signed, with the event id as `Idempotency-Key`.
//!
//! Delivery is at least once: a failed request is retried with backoff a few times within
//! the consumer's turn (short enough for NATS' acknowledgement deadline), then recorded in
//! `webhook_failures` (the dead letters, listed by `authlog hooks failed`) and the stream
//! moves on. A receiver deduplicates on `Idempotency-Key`.
//!
//! Layout: [`filter`] matches event types; [`delivery`] signs and sends one request;
//! [`dead_letters`] keeps what could not be delivered.

pub mod dead_letters;
pub mod delivery;
pub mod filter;

use std::time::Duration;

use authlog_eventstore::{Db, RecordedEvent};

use crate::consumer::{Consumer, ConsumerError};
use crate::envelope::Envelope;
use delivery::{Attempt, Delivery};
use filter::EventFilter;

/// One configured endpoint.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    /// Signs every request (`X-Authlog-Signature`).
    pub secret: String,
    pub events: EventFilter,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// How hard to try before giving an event up to the dead letters.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    /// Waited after the first failure; doubled after each further one.
    pub first_backoff: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff: Duration::from_millis(500),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// The consumer that calls every configured webhook.
pub struct WebhookConsumer {
    db: Db,
    webhooks: Vec<Webhook>,
    retry: RetryPolicy,
    delivery: Delivery,
}

impl WebhookConsumer {
    pub fn new(db: Db, webhooks: Vec<Webhook>, retry: RetryPolicy) -> Result<Self, String> {
        Ok(Self {
            delivery: Delivery::new(retry.request_timeout)?,
            db,
            webhooks,
            retry,
        })
    }

    /// Delivers `event` to `webhook`, retrying with backoff; the last failed attempt if all
    /// of them failed.
    async fn deliver(&self, webhook: &Webhook, envelope: &Envelope) -> Result<(), Attempt> {
        let body = serde_json::to_vec(envelope).expect("envelopes serialize");
        let mut backoff = self.retry.first_backoff;
        let mut last = None;
        for attempt in 1..=self.retry.attempts.max(1) {
            match self.delivery.send(webhook, envelope, &body).await {
                Ok(()) => return Ok(()),
                Err(failure) => {
                    tracing::warn!(url = %webhook.url, event_id = %envelope.id, attempt, error = %failure.error, "webhook delivery failed");
                    last = Some(failure);
                }
            }
            if attempt < self.retry.attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(last.expect("at least one attempt"))
    }
}

#[async_trait::async_trait]
impl Consumer for WebhookConsumer {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    fn wants(&self, event_type: &str) -> bool {
        self.webhooks.iter().any(|w| w.events.matches(event_type))
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), ConsumerError> {
        let envelope = Envelope::of(event);
        for webhook in self
            .webhooks
            .iter()
            .filter(|w| w.events.matches(&event.event_type))
        {
            match self.deliver(webhook, &envelope).await {
                Ok(()) => dead_letters::resolve(&self.db, &webhook.url, &envelope.id.to_string())
                    .await
                    .map_err(|e| ConsumerError(format!("webhook dead letters: {e}")))?,
                Err(failure) => {
                    dead_letters::record(
                        &self.db,
                        &webhook.url,
                        event,
                        self.retry.attempts,
                        &failure,
                    )
                    .await
                    .map_err(|e| ConsumerError(format!("webhook dead letters: {e}")))?;
                }
            }
        }
        Ok(())
    }
}
