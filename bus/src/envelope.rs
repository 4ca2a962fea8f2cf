//! The envelope: the JSON body of every event message on NATS, documented for other
//! services in `docs/events.md`.
//!
//! It is a wire format, separate from [`RecordedEvent`] on purpose: the log may change
//! shape (with upcasters), the envelope changes only by a new `envelope` number. Its `data`
//! is the event's payload with secrets withheld ([`crate::redaction`]).

use authlog_eventstore::{Actor, Metadata, RecordedEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The version of the envelope's own shape (not of any event).
pub const ENVELOPE_VERSION: u32 = 1;

/// Message headers set on every published event, besides `Nats-Msg-Id` (the event id).
pub mod headers {
    /// The event type, e.g. `user.created`.
    pub const TYPE: &str = "Authlog-Type";
    /// The event type's version (`version` in the envelope).
    pub const VERSION: &str = "Authlog-Version";
    /// The event's global position in the log (`position` in the envelope).
    pub const POSITION: &str = "Authlog-Position";
    /// JetStream's deduplication header: the event id.
    pub const MESSAGE_ID: &str = "Nats-Msg-Id";
}

/// One event as other services see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`ENVELOPE_VERSION`].
    pub envelope: u32,
    /// The event id (a UUIDv7); the same as the `Nats-Msg-Id` header. Deduplicate on it.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The version of this event type's `data` shape.
    pub version: i32,
    pub occurred_at: DateTime<Utc>,
    /// `user`, `session`, `account`, `verification` or `attempt`.
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// 1 for the first event of an aggregate, then 2, 3, ...: orders one aggregate's events.
    pub aggregate_version: i64,
    /// The event's global position in the log (unique; increasing in commit order on
    /// SQLite, in insertion order on PostgreSQL).
    pub position: i64,
    pub actor: Actor,
    /// The HTTP request that caused the event, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestInfo>,
    /// The event's fields, secrets withheld.
    pub data: Value,
}

/// Where a request came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Envelope {
    /// The envelope of a committed event, secrets withheld.
    pub fn of(event: &RecordedEvent) -> Self {
        let metadata = &event.metadata;
        let has_request = metadata.request_id.is_some()
            || metadata.ip_address.is_some()
            || metadata.user_agent.is_some();
        Self {
            envelope: ENVELOPE_VERSION,
            id: event.event_id,
            event_type: event.event_type.clone(),
            version: event.event_version,
            occurred_at: event.occurred_at,
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            aggregate_version: event.version,
            position: event.global_position,
            actor: metadata.actor.clone(),
            request: has_request.then(|| RequestInfo {
                id: metadata.request_id.clone(),
                ip_address: metadata.ip_address.clone(),
                user_agent: metadata.user_agent.clone(),
            }),
            data: crate::redaction::published_data(&event.event_type, &event.payload),
        }
    }

    /// The event as far as the envelope tells it, for code that takes [`RecordedEvent`]s
    /// (e.g. cache eviction on other instances). Its payload is the redacted `data`, and
    /// its `tx_id` is 0: it is not a cursor into the log.
    pub fn into_recorded_event(self) -> RecordedEvent {
        let request = self.request.unwrap_or(RequestInfo {
            id: None,
            ip_address: None,
            user_agent: None,
        });
        RecordedEvent {
            global_position: self.position,
            tx_id: 0,
            event_id: self.id,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            version: self.aggregate_version,
            event_type: self.event_type,
            event_version: self.version,
            payload: self.data,
            metadata: Metadata {
                actor: self.actor,
                request_id: request.id,
                ip_address: request.ip_address,
                user_agent: request.user_agent,
            },
            occurred_at: self.occurred_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn session_created() -> RecordedEvent {
        RecordedEvent {
            global_position: 42,
            tx_id: 7,
            event_id: Uuid::now_v7(),
            aggregate_type: "session".into(),
            aggregate_id: "s1".into(),
            version: 1,
            event_type: "session.created".into(),
            event_version: 1,
            payload: json!({"session_id": "s1", "user_id": "u1", "token_hash": "9f86d0",
                "expires_at": "2026-12-07T00:00:00Z", "ip_address": "203.0.113.7",
                "user_agent": "Mozilla/5.0", "dont_remember": false}),
            metadata: Metadata {
                actor: Actor::User { id: "u1".into() },
                request_id: Some("r1".into()),
                ip_address: Some("203.0.113.7".into()),
                user_agent: None,
            },
            occurred_at: chrono::DateTime::from_timestamp_millis(1_780_000_000_123).unwrap(),
        }
    }

    #[test]
    fn the_envelope_has_the_documented_shape() {
        let event = session_created();
        let json = serde_json::to_value(Envelope::of(&event)).unwrap();
        assert_eq!(
            json,
            json!({
                "envelope": 1,
                "id": event.event_id.to_string(),
                "type": "session.created",
                "version": 1,
                "occurred_at": "2026-05-28T20:26:40.123Z",
                "aggregate_type": "session",
                "aggregate_id": "s1",
                "aggregate_version": 1,
                "position": 42,
                "actor": {"kind": "user", "id": "u1"},
                "request": {"id": "r1", "ip_address": "203.0.113.7"},
                "data": {"session_id": "s1", "user_id": "u1",
                    "expires_at": "2026-12-07T00:00:00Z", "ip_address": "203.0.113.7",
                    "user_agent": "Mozilla/5.0", "dont_remember": false}
            })
        );
    }

    #[test]
    fn an_envelope_reads_back_as_the_redacted_event() {
        let event = session_created();
        let envelope = Envelope::of(&event);
        let text = serde_json::to_string(&envelope).unwrap();
        let back: Envelope = serde_json::from_str(&text).unwrap();
        let recorded = back.into_recorded_event();
        assert_eq!(recorded.event_id, event.event_id);
        assert_eq!(recorded.aggregate_id, "s1");
        assert_eq!(recorded.event_type, "session.created");
        assert_eq!(recorded.metadata, event.metadata);
        assert!(recorded.payload.get("token_hash").is_none());
    }
}
