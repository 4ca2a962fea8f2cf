//! The harness: NATS servers ([`nats`]), authlog instances in this process or as the real
//! binary ([`instance`]), and the log as it stands.

pub(crate) mod instance;
pub(crate) mod nats;

use std::time::{Duration, Instant};

use authlog_eventstore::db::PoolSettings;
use authlog_eventstore::{Cursor, Db, EventStore, RecordedEvent, Upcasters};

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Every event in the log at `database_url`, in the order a reader of the whole log (the
/// publisher) sees them.
pub(crate) async fn log_events(database_url: &str) -> Vec<RecordedEvent> {
    let db = Db::connect(database_url, &PoolSettings::default())
        .await
        .expect("open the log");
    let store = EventStore::open(db.clone(), Upcasters::default(), Vec::new())
        .await
        .expect("open the store");
    let total = store.count().await.expect("count") as usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut events = Vec::new();
    let mut cursor = Cursor::default();
    // On PostgreSQL the safe cursor waits for older transactions of the whole cluster (other
    // tests), so read until every counted event has been seen.
    while events.len() < total {
        assert!(Instant::now() < deadline, "the log is not readable");
        let batch = store.read_all(cursor, 1000).await.expect("read the log");
        match batch.last() {
            Some(last) => cursor = last.cursor(),
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
        events.extend(batch);
    }
    db.close().await;
    events
}

/// Asserts that `delivered` holds each of `expected` exactly once, in the same order, and
/// nothing else. `what` names the delivery (the stream; later, the mailbox).
pub(crate) fn assert_each_once_in_order(expected: &[String], delivered: &[String], what: &str) {
    let mut seen = std::collections::HashMap::new();
    for id in delivered {
        *seen.entry(id.as_str()).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: delivered more than once: {twice:?}"
    );
    let missing: Vec<_> = expected
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} committed events missing: {missing:?}",
        missing.len(),
        expected.len()
    );
    assert_eq!(
        delivered.len(),
        expected.len(),
        "{what}: delivered events that are not in the log"
    );
    assert!(delivered == expected, "{what}: out of order");
}
