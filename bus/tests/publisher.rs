//! The publisher delivers every committed event once, in order, and resumes from its
//! checkpoint.

use std::sync::{Arc, Mutex};

use authlog_bus::publisher::Publisher;
use authlog_bus::{Sink, SinkError};
use authlog_eventstore::testing::TestDatabase;
use authlog_eventstore::{
    AppendRequest, EventStore, Metadata, NewEvent, RecordedEvent, StreamAppend, Upcasters,
};

/// Records what it is given; refuses the first `failures` offers; claims to hold
/// `last_delivered` already.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<i64>>,
    failures: Mutex<u32>,
    last_delivered: Option<uuid::Uuid>,
}

#[async_trait::async_trait]
impl Sink for Recorder {
    async fn publish(&self, event: &RecordedEvent) -> Result<(), SinkError> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(SinkError("down".into()));
        }
        self.seen
            .lock()
            .unwrap()
            .push(event.payload["i"].as_i64().unwrap());
        Ok(())
    }

    async fn last_delivered(&self) -> Result<Option<uuid::Uuid>, SinkError> {
        Ok(self.last_delivered)
    }
}

async fn append(store: &EventStore, i: i64) -> RecordedEvent {
    let mut request = AppendRequest::new(Metadata::system(), chrono::Utc::now());
    request.streams.push(StreamAppend {
        aggregate_type: "user".into(),
        aggregate_id: format!("u{i}"),
        expected_version: 0,
        events: vec![NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: "user.created".into(),
            event_version: 1,
            payload: serde_json::json!({"i": i}),
        }],
    });
    store.append(request).await.unwrap().remove(0)
}

async fn wait_for(recorder: &Recorder, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while recorder.seen.lock().unwrap().len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "published {:?}",
            recorder.seen.lock().unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn every_event_once_in_order_through_failures_and_restarts() {
    let database = TestDatabase::create().await;
    let store = EventStore::open(database.connect().await, Upcasters::default(), Vec::new())
        .await
        .unwrap();
    for i in 0..3 {
        append(&store, i).await;
    }
    let recorder = Arc::new(Recorder {
        failures: Mutex::new(2),
        ..Recorder::default()
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running =
        tokio::spawn(Publisher::new(store.clone(), recorder.clone(), "test").run(stopped));
    for i in 3..6 {
        append(&store, i).await;
    }
    wait_for(&recorder, 6).await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();

    // A new publisher with the same name resumes after the checkpoint.
    for i in 6..8 {
        append(&store, i).await;
    }
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(Publisher::new(store.clone(), recorder.clone(), "test").run(stopped));
    wait_for(&recorder, 8).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(*recorder.seen.lock().unwrap(), (0..8).collect::<Vec<_>>());
}

/// After a crash the checkpoint may lag behind what the sink already holds (it is saved at
/// most once a second); the publisher starts after the sink's last event instead of
/// offering those events again.
#[tokio::test]
async fn the_publisher_resumes_after_the_sinks_last_event_when_it_is_in_the_log() {
    let database = TestDatabase::create().await;
    let store = EventStore::open(database.connect().await, Upcasters::default(), Vec::new())
        .await
        .unwrap();
    let mut appended = Vec::new();
    for i in 0..5 {
        appended.push(append(&store, i).await);
    }
    let holds_up_to_2 = Arc::new(Recorder {
        last_delivered: Some(appended[2].event_id),
        ..Recorder::default()
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running =
        tokio::spawn(Publisher::new(store.clone(), holds_up_to_2.clone(), "a").run(stopped));
    wait_for(&holds_up_to_2, 2).await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(*holds_up_to_2.seen.lock().unwrap(), vec![3, 4]);

    // An id the log does not hold (another log's event) is ignored: start at the checkpoint.
    let holds_a_stranger = Arc::new(Recorder {
        last_delivered: Some(uuid::Uuid::now_v7()),
        ..Recorder::default()
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running =
        tokio::spawn(Publisher::new(store.clone(), holds_a_stranger.clone(), "b").run(stopped));
    wait_for(&holds_a_stranger, 5).await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(
        *holds_a_stranger.seen.lock().unwrap(),
        (0..5).collect::<Vec<_>>()
    );
}
