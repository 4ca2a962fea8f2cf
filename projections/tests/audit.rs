//! The audit trail's writer takes a batch of events at a time: how the log is cut into
//! batches (the runner's pace decides it) must not change a single row of the trail.

mod support;

use authlog_eventstore::{Cursor, EventStore, RecordedEvent};
use authlog_projections::audit::{self, AuditLog, AuditQuery, AuditRow};
use authlog_projections::{Projection, Target};
use support::{execute, Users};

async fn apply(store: &EventStore, events: &[RecordedEvent]) {
    let mut tx = store.db().begin().await.unwrap();
    AuditLog
        .apply_batch(&mut tx, events, Target::Live)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn trail(store: &EventStore) -> Vec<AuditRow> {
    let query = AuditQuery {
        limit: 1_000,
        ..AuditQuery::default()
    };
    let (mut rows, _) = audit::list(store.db(), &query).await.unwrap();
    rows.sort_by_key(|row| row.position);
    rows
}

async fn clear(store: &EventStore) {
    execute(store.db(), "DELETE FROM audit_log").await;
    execute(store.db(), "DELETE FROM audit_subjects").await;
}

#[tokio::test]
async fn batches_cut_anywhere_record_the_same_trail() {
    let (_database, store) = support::store().await;
    Users::new(&store).workload(3).await;
    let events = store.read_all(Cursor::default(), 1_000).await.unwrap();
    assert_eq!(events.len(), 15);

    apply(&store, &events).await;
    let whole = trail(&store).await;
    assert_eq!(whole.len(), events.len());
    // Refreshes and sign-outs do not name their user: it comes from the session's first
    // event, here in the same batch.
    let unnamed: Vec<&AuditRow> = whole
        .iter()
        .filter(|row| row.event_type == "session.refreshed" || row.event_type == "session.revoked")
        .collect();
    assert_eq!(unnamed.len(), 6);
    assert!(
        unnamed.iter().all(|row| row.user_id.is_some()),
        "{unnamed:?}"
    );

    for cut in 1..events.len() {
        clear(&store).await;
        apply(&store, &events[..cut]).await;
        apply(&store, &events[cut..]).await;
        assert_eq!(trail(&store).await, whole, "cut after event {cut}");
    }
    clear(&store).await;
    for event in &events {
        apply(&store, std::slice::from_ref(event)).await;
    }
    assert_eq!(trail(&store).await, whole, "one event per batch");

    // Applying the log again (a replay) changes nothing.
    apply(&store, &events).await;
    assert_eq!(trail(&store).await, whole, "replayed");
}
