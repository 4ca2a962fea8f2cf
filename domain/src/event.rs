//! How a domain event is named, versioned and turned into a stored payload.
//!
//! Each event enum is a serde *internally tagged* enum whose tag is the stable event type
//! (`user.created`). The tag is lifted out into the log's `event_type` column, so the stored
//! payload holds only the variant's fields. Field names are snake_case and permanent: a shape
//! change adds a version and an upcaster in `eventstore`, never an edit in place.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

const TAG: &str = "type";

/// Implemented by every aggregate's event enum.
pub trait StoredEvent: Serialize + DeserializeOwned + Sized {
    /// The aggregate type of the stream this event belongs to (`user`, `session`, ...).
    const AGGREGATE_TYPE: &'static str;

    /// The stable type name, `<aggregate>.<past_tense>`.
    fn event_type(&self) -> &'static str;

    /// The payload shape version. Starts at 1; bump it together with an upcaster.
    fn event_version(&self) -> i32 {
        1
    }

    /// The payload as stored: the event's fields without the type tag.
    fn to_payload(&self) -> Value {
        let mut value = serde_json::to_value(self).expect("domain events always serialize");
        if let Value::Object(map) = &mut value {
            map.remove(TAG);
        }
        value
    }

    /// Rebuilds the event from its stored type and (already upcast) payload.
    fn from_stored(event_type: &str, payload: Value) -> Result<Self, serde_json::Error> {
        let mut map = match payload {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "event payload must be an object, got {other}"
                )))
            }
        };
        map.insert(TAG.to_owned(), Value::String(event_type.to_owned()));
        serde_json::from_value(Value::Object(map))
    }
}

/// Implements cqrs-es' `DomainEvent` from [`StoredEvent`], so one name and one version serve
/// both the log and the cqrs-es test framework.
#[macro_export]
macro_rules! impl_domain_event {
    ($event:ty) => {
        impl cqrs_es::DomainEvent for $event {
            fn event_type(&self) -> String {
                $crate::StoredEvent::event_type(self).to_owned()
            }
            fn event_version(&self) -> String {
                $crate::StoredEvent::event_version(self).to_string()
            }
        }
    };
}
