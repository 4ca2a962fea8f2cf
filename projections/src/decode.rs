//! Decoding a recorded event's payload into its domain type without copying it.
//!
//! The log stores a payload without its type tag (the tag is the `event_type` column), and
//! `StoredEvent::from_stored` puts the tag back into an owned copy of the payload before
//! deserializing. Projections decode every event of every replay, so this module presents
//! the tag and the payload's fields to serde straight from the borrowed `Value` instead:
//! the same derive does the work and gives the same result, minus a copy of each payload.

use authlog_domain::StoredEvent;
use authlog_eventstore::RecordedEvent;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// The tag field of every domain event enum (see `authlog_domain::event`).
const TAG: &str = "type";

/// Decodes a payload the projection subscribed to. A payload that does not decode is a
/// corrupt log, reported as a database decode error so the transaction rolls back.
pub(crate) fn decode<E: StoredEvent>(event: &RecordedEvent) -> Result<E, sqlx::Error> {
    let empty = Map::new();
    let fields = match &event.payload {
        Value::Object(fields) => Ok(fields),
        Value::Null => Ok(&empty),
        other => Err(de::Error::custom(format!(
            "event payload must be an object, got {other}"
        ))),
    };
    fields
        .and_then(|fields| {
            E::deserialize(TaggedPayload {
                tag: &event.event_type,
                fields,
            })
        })
        .map_err(|error: serde_json::Error| {
            sqlx::Error::Decode(
                format!(
                    "event {} ({}) does not decode: {error}",
                    event.global_position, event.event_type
                )
                .into(),
            )
        })
}

/// A payload with its tag, seen by serde as one map.
struct TaggedPayload<'a> {
    tag: &'a str,
    fields: &'a Map<String, Value>,
}

impl<'de> Deserializer<'de> for TaggedPayload<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Fields {
            tag: Some(self.tag),
            fields: self.fields.iter(),
            value: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// The tag first, then the payload's fields.
struct Fields<'a> {
    tag: Option<&'a str>,
    fields: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        if self.tag.is_some() {
            self.value = None;
            return seed
                .deserialize(BorrowedStrDeserializer::new(TAG))
                .map(Some);
        }
        match self.fields.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(BorrowedStrDeserializer::new(key.as_str()))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        match (self.tag.take(), self.value.take()) {
            (Some(tag), _) => seed.deserialize(BorrowedStrDeserializer::new(tag)),
            (None, Some(value)) => seed.deserialize(value),
            (None, None) => Err(de::Error::custom("a value was asked for before its key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use authlog_domain::account::AccountEvent;
    use authlog_domain::session::SessionEvent;
    use authlog_domain::user::UserEvent;
    use authlog_domain::StoredEvent;
    use authlog_eventstore::{Metadata, RecordedEvent};
    use serde_json::json;

    fn recorded(event_type: &str, payload: serde_json::Value) -> RecordedEvent {
        RecordedEvent {
            global_position: 1,
            tx_id: 0,
            event_id: uuid::Uuid::nil(),
            aggregate_type: event_type.split('.').next().unwrap_or_default().to_owned(),
            aggregate_id: "a".to_owned(),
            version: 1,
            event_type: event_type.to_owned(),
            event_version: 1,
            payload,
            metadata: Metadata::system(),
            occurred_at: chrono::Utc::now(),
        }
    }

    /// Decodes both ways and insists on the same answer.
    fn same<E: StoredEvent + PartialEq + std::fmt::Debug>(
        event_type: &str,
        payload: serde_json::Value,
    ) {
        let event = recorded(event_type, payload.clone());
        let borrowed = super::decode::<E>(&event).map_err(|e| e.to_string());
        let owned = E::from_stored(event_type, payload).map_err(|e| e.to_string());
        assert_eq!(borrowed.is_ok(), owned.is_ok(), "{borrowed:?} vs {owned:?}");
        if let (Ok(borrowed), Ok(owned)) = (borrowed, owned) {
            assert_eq!(borrowed, owned);
        }
    }

    #[test]
    fn decodes_as_the_domain_does() {
        same::<SessionEvent>(
            "session.created",
            json!({"session_id": "s", "user_id": "u", "token_hash": "ab", "expires_at": "2026-01-02T03:04:05.678Z",
                   "ip_address": "", "user_agent": "ua", "dont_remember": true}),
        );
        same::<SessionEvent>(
            "session.refreshed",
            json!({"expires_at": "2026-01-02T03:04:05Z"}),
        );
        same::<SessionEvent>("session.revoked", json!({"reason": "sign_out"}));
        same::<UserEvent>("user.profile_updated", json!({"image": null}));
        same::<UserEvent>("user.profile_updated", json!({"name": "N"}));
        same::<AccountEvent>("account.unlinked", json!(null));
        same::<SessionEvent>("session.revoked", json!({"reason": "not_a_reason"}));
        same::<SessionEvent>("session.exploded", json!({}));
    }
}
