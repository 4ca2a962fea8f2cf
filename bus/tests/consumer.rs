//! A consumer sees each wanted event once, even when the log is replayed to it.

use std::sync::{Arc, Mutex};

use authlog_bus::consumer::{follow_log, Consumer, ConsumerError, Dedup};
use authlog_eventstore::testing::TestDatabase;
use authlog_eventstore::{
    AppendRequest, EventStore, Metadata, NewEvent, RecordedEvent, StreamAppend, Upcasters,
};

#[derive(Default)]
struct Mailer {
    sent: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Consumer for Mailer {
    fn name(&self) -> &'static str {
        "mailer"
    }
    fn wants(&self, event_type: &str) -> bool {
        event_type == "user.created"
    }
    async fn handle(&self, event: &RecordedEvent) -> Result<(), ConsumerError> {
        self.sent.lock().unwrap().push(event.aggregate_id.clone());
        Ok(())
    }
}

async fn append(store: &EventStore, id: &str, event_type: &str) {
    let mut request = AppendRequest::new(Metadata::system(), chrono::Utc::now());
    request.streams.push(StreamAppend {
        aggregate_type: "user".into(),
        aggregate_id: id.into(),
        expected_version: if event_type == "user.created" { 0 } else { 1 },
        events: vec![NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: event_type.into(),
            event_version: 1,
            payload: serde_json::json!({}),
        }],
    });
    store.append(request).await.unwrap();
}

#[tokio::test]
async fn wanted_events_are_handled_once_even_when_offered_again() {
    let database = TestDatabase::create().await;
    let store = EventStore::open(database.connect().await, Upcasters::default(), Vec::new())
        .await
        .unwrap();
    append(&store, "u1", "user.created").await;
    append(&store, "u1", "user.profile_updated").await;
    append(&store, "u2", "user.created").await;

    let mailer = Arc::new(Mailer::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(follow_log(store.clone(), mailer.clone(), stopped));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while mailer.sent.lock().unwrap().len() < 2 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(*mailer.sent.lock().unwrap(), ["u1", "u2"]);

    // Offering the whole log again (a replay, a redelivery) sends nothing twice.
    let dedup = Dedup::new(store.db().clone(), mailer.clone());
    for event in store.read_all(Default::default(), 100).await.unwrap() {
        dedup.offer(&event).await.unwrap();
    }
    assert_eq!(mailer.sent.lock().unwrap().len(), 2);
}
