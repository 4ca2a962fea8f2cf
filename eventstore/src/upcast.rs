//! Upcasters turn a stored payload of an older event version into the current shape, so
//! history written years ago still loads into today's domain types. Every reader of the
//! log (stream loads, the whole-log cursor) goes through [`Upcasters::upcast`].

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

/// Turns one version of one event type into the next.
pub trait Upcaster: Send + Sync {
    /// The event type this applies to (`user.created`).
    fn event_type(&self) -> &'static str;
    /// The version it reads; it produces `reads_version() + 1`.
    fn reads_version(&self) -> i32;
    fn upcast(&self, payload: Value) -> Value;
}

/// The registered upcasters, by event type, then by the version they read.
#[derive(Clone, Default)]
pub struct Upcasters {
    by_type: HashMap<&'static str, HashMap<i32, Arc<dyn Upcaster>>>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.by_type
                    .iter()
                    .map(|(kind, versions)| (kind, versions.keys())),
            )
            .finish()
    }
}

impl Upcasters {
    pub fn register(&mut self, upcaster: Arc<dyn Upcaster>) {
        self.by_type
            .entry(upcaster.event_type())
            .or_default()
            .insert(upcaster.reads_version(), upcaster);
    }

    /// Applies the chain of upcasters from `version` until none applies; returns the final
    /// version and payload.
    pub fn upcast(&self, event_type: &str, mut version: i32, mut payload: Value) -> (i32, Value) {
        while let Some(upcaster) = self.lookup(event_type, version) {
            payload = upcaster.upcast(payload);
            version += 1;
        }
        (version, payload)
    }

    fn lookup(&self, event_type: &str, version: i32) -> Option<&Arc<dyn Upcaster>> {
        self.by_type.get(event_type)?.get(&version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct RenameField;

    impl Upcaster for RenameField {
        fn event_type(&self) -> &'static str {
            "user.created"
        }
        fn reads_version(&self) -> i32 {
            1
        }
        fn upcast(&self, mut payload: Value) -> Value {
            if let Some(map) = payload.as_object_mut() {
                if let Some(name) = map.remove("full_name") {
                    map.insert("name".into(), name);
                }
            }
            payload
        }
    }

    #[test]
    fn upcasters_chain_until_the_current_version() {
        let mut upcasters = Upcasters::default();
        upcasters.register(Arc::new(RenameField));
        let (version, payload) =
            upcasters.upcast("user.created", 1, serde_json::json!({"full_name": "Ada"}));
        assert_eq!(version, 2);
        assert_eq!(payload, serde_json::json!({"name": "Ada"}));
        let (version, _) = upcasters.upcast("session.created", 1, serde_json::json!({}));
        assert_eq!(version, 1);
    }
}
