//! What goes into the log and what comes out of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use authlog_domain::uniqueness::UniqueClaim;
use authlog_domain::StoredEvent;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in user acting on their own behalf.
    User { id: String },
    /// An administrator acting on someone else.
    Admin { id: String },
    /// An administrator acting through an impersonated session.
    Impersonator { admin_id: String, user_id: String },
    /// Someone not (yet) signed in: sign-up, sign-in, password reset requests.
    Anonymous,
    /// authlog itself: migrations, expiry sweeps, imports.
    System,
}

/// Carried by every event: who, from where, which request. `occurred_at` is stored in its
/// own column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Metadata {
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            request_id: None,
            ip_address: None,
            user_agent: None,
        }
    }
}

/// One event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub event_version: i32,
    pub payload: Value,
}

impl NewEvent {
    /// Serialises a domain event under a fresh time-ordered id.
    pub fn from_domain<E: StoredEvent>(event: &E) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event.event_type().to_owned(),
            event_version: event.event_version(),
            payload: event.to_payload(),
        }
    }
}

/// Events for one stream, valid only if the stream is still at `expected_version`
/// (0 for a stream that must not exist yet).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub expected_version: i64,
    pub events: Vec<NewEvent>,
}

impl StreamAppend {
    pub fn new<E: StoredEvent>(aggregate_id: &str, expected_version: i64, events: &[E]) -> Self {
        Self {
            aggregate_type: E::AGGREGATE_TYPE.to_owned(),
            aggregate_id: aggregate_id.to_owned(),
            expected_version,
            events: events.iter().map(NewEvent::from_domain).collect(),
        }
    }
}

/// Everything one command writes: events on one or more streams and the unique claims they
/// imply, committed together or not at all.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    pub streams: Vec<StreamAppend>,
    pub unique: Vec<UniqueClaim>,
    pub metadata: Metadata,
    pub occurred_at: DateTime<Utc>,
}

impl AppendRequest {
    pub fn new(metadata: Metadata, occurred_at: DateTime<Utc>) -> Self {
        Self {
            streams: Vec::new(),
            unique: Vec::new(),
            metadata,
            occurred_at,
        }
    }

    /// Adds domain events for one stream, with the unique claims they imply.
    pub fn push<E: StoredEvent>(
        &mut self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[E],
        claims: impl IntoIterator<Item = UniqueClaim>,
    ) -> &mut Self {
        if !events.is_empty() {
            self.streams
                .push(StreamAppend::new(aggregate_id, expected_version, events));
        }
        self.unique.extend(claims);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.streams.iter().all(|s| s.events.is_empty())
    }
}

/// An event as the log holds it, already upcast to its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub global_position: i64,
    /// PostgreSQL: the writing transaction's id; SQLite: 0.
    pub tx_id: i64,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub version: i64,
    pub event_type: String,
    pub event_version: i32,
    pub payload: Value,
    pub metadata: Metadata,
    pub occurred_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// Decodes the payload as a domain event.
    pub fn decode<E: StoredEvent>(&self) -> Result<E, serde_json::Error> {
        E::from_stored(&self.event_type, self.payload.clone())
    }

    /// This event's place for a reader of the whole log.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            tx_id: self.tx_id,
            position: self.global_position,
        }
    }
}

/// A position in the whole log: after `(tx_id, position)`. The start is `Cursor::default()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    pub tx_id: i64,
    pub position: i64,
}
