//! The async projection runner: checkpoints, batches, failed events (halt and skip, with
//! retries), one runner per projection across instances.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use authlog_eventstore::testing::{backend, TestDatabase};
use authlog_eventstore::{Backend, EventStore};
use authlog_projections::failed::{self, Backoff, FailureStatus};
use authlog_projections::runner::{Runner, RunnerSettings, Step};
use authlog_projections::{state, OnFailure, Projection};
use support::{append_test_events, create_event_log_table, event_log, EventLog, Patience};

/// Small batches, immediate retries, no waiting between recorded attempts.
fn settings(batch_events: i64) -> RunnerSettings {
    RunnerSettings {
        batch_events,
        poll_interval: Duration::from_millis(20),
        coalesce: Duration::ZERO,
        min_read_interval: Duration::ZERO,
        immediate_attempts: 1,
        backoff: Backoff {
            first: Duration::ZERO,
            max: Duration::ZERO,
        },
    }
}

async fn setup() -> (TestDatabase, EventStore) {
    let (database, store) = support::store().await;
    create_event_log_table(store.db()).await;
    (database, store)
}

/// Steps until the projection has applied `total` events, checking every batch's size.
async fn apply_all(runner: &Runner, total: usize, batch: usize) {
    let patience = Patience::new("the runner applies every event");
    let mut applied = 0;
    while applied < total {
        match runner.step().await.unwrap() {
            Step::Applied(count) => {
                assert!(count <= batch, "a batch of {count}");
                applied += count;
            }
            Step::Idle | Step::Moved => patience.wait().await,
            other => panic!("unexpected step {other:?}"),
        }
    }
    assert_eq!(applied, total);
}

/// Waits until `event_log` has `rows` rows.
async fn wait_for_rows(store: &EventStore, rows: usize) {
    let patience = Patience::new("rows in event_log");
    while event_log(store.db()).await.len() < rows {
        patience.wait().await;
    }
}

#[tokio::test]
async fn batches_move_the_checkpoint_with_the_rows() {
    let (_database, store) = setup().await;
    let projection: Arc<dyn Projection> = Arc::new(EventLog::new("a", OnFailure::Halt));
    append_test_events(&store, "one", 25, &[]).await;
    let runner = Runner::with_settings(store.clone(), projection.clone(), settings(10));
    apply_all(&runner, 25, 10).await;

    let rows = event_log(store.db()).await;
    assert_eq!(rows.len(), 25);
    let saved = state::load(store.db(), "event_log").await.unwrap().unwrap();
    assert_eq!(saved.cursor.position, rows.last().unwrap().0);

    // A new runner (a restart) goes on from the checkpoint: nothing is applied twice.
    let restarted = Runner::with_settings(store.clone(), projection, settings(10));
    assert_eq!(restarted.step().await.unwrap(), Step::Idle);
    append_test_events(&store, "one", 3, &[]).await;
    apply_all(&restarted, 3, 10).await;
    assert_eq!(event_log(store.db()).await.len(), 28);
}

#[tokio::test]
async fn a_halting_projection_stops_at_a_failing_event_and_retries_it() {
    let (_database, store) = setup().await;
    let projection = EventLog::new("a", OnFailure::Halt);
    let broken = projection.broken.clone();
    broken.store(true, Ordering::SeqCst);
    append_test_events(&store, "one", 5, &[3]).await;
    let runner = Runner::with_settings(store.clone(), Arc::new(projection), settings(100));

    let patience = Patience::new("the runner halts");
    let halted_at = loop {
        match runner.step().await.unwrap() {
            Step::Halted { position, .. } => break position,
            Step::Applied(_) | Step::Idle | Step::Moved => patience.wait().await,
            other => panic!("unexpected step {other:?}"),
        }
    };
    let rows = event_log(store.db()).await;
    assert_eq!(
        rows.len(),
        2,
        "the events before the failing one are applied"
    );
    let failures = failed::list(store.db(), "event_log").await.unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].status, FailureStatus::Halted);
    assert_eq!(failures[0].position, halted_at);
    assert!(failures[0].last_error.contains("poisoned"), "{failures:?}");

    // Retried: still failing, one more attempt recorded, nothing after it applied.
    assert!(matches!(runner.step().await.unwrap(), Step::Halted { .. }));
    let failures = failed::list(store.db(), "event_log").await.unwrap();
    assert_eq!(failures[0].attempts, 2);
    assert_eq!(event_log(store.db()).await.len(), 2);

    // Fixed: the event goes through, its record goes, and the rest follows.
    broken.store(false, Ordering::SeqCst);
    apply_all(&runner, 3, 100).await;
    assert_eq!(event_log(store.db()).await.len(), 5);
    assert!(failed::list(store.db(), "event_log")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_skipping_projection_records_the_event_goes_on_and_retries_it_on_the_side() {
    let (_database, store) = setup().await;
    let projection = EventLog::new("a", OnFailure::Skip);
    let broken = projection.broken.clone();
    broken.store(true, Ordering::SeqCst);
    append_test_events(&store, "one", 5, &[2]).await;
    let runner = Runner::with_settings(store.clone(), Arc::new(projection), settings(100));

    let patience = Patience::new("the runner skips the failing event and applies the rest");
    let mut skipped = 0;
    while skipped == 0 || event_log(store.db()).await.len() < 4 {
        match runner.step().await.unwrap() {
            Step::Skipped { .. } => skipped += 1,
            Step::Applied(_) => {}
            Step::Idle | Step::Moved => patience.wait().await,
            other => panic!("unexpected step {other:?}"),
        }
    }
    assert_eq!(skipped, 1);
    assert_eq!(event_log(store.db()).await.len(), 4);
    assert_eq!(runner.step().await.unwrap(), Step::Idle);
    let failures = failed::list(store.db(), "event_log").await.unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].status, FailureStatus::Skipped);

    assert_eq!(runner.retry_skipped().await.unwrap(), 0, "still broken");
    let failures = failed::list(store.db(), "event_log").await.unwrap();
    assert_eq!(failures[0].attempts, 2);

    broken.store(false, Ordering::SeqCst);
    assert_eq!(runner.retry_skipped().await.unwrap(), 1);
    assert_eq!(event_log(store.db()).await.len(), 5);
    assert!(failed::list(store.db(), "event_log")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_runner_of_another_version_stops() {
    let (_database, store) = setup().await;
    let mut newer = EventLog::new("a", OnFailure::Halt);
    newer.version = 2;
    state::insert_if_missing(store.db(), "event_log", 2)
        .await
        .unwrap();
    let older = Runner::with_settings(
        store.clone(),
        Arc::new(EventLog::new("a", OnFailure::Halt)),
        settings(10),
    );
    assert_eq!(
        older.step().await.unwrap(),
        Step::Superseded { stored_version: 2 }
    );
    let current = Runner::with_settings(store.clone(), Arc::new(newer), settings(10));
    assert_ne!(
        current.step().await.unwrap(),
        Step::Superseded { stored_version: 2 }
    );
}

/// Two instances run the same projection. Every event is applied exactly once (a duplicate
/// would break `event_log`'s primary key and show up as a failed event); on PostgreSQL only
/// the holder of the advisory lock applies anything, and the other takes over when it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_runner_per_projection_across_instances() {
    let (database, store) = setup().await;
    let other_instance = support::open(&database).await;
    let (stop_a, stopped_a) = tokio::sync::watch::channel(false);
    let (stop_b, stopped_b) = tokio::sync::watch::channel(false);
    let runner_a = Runner::with_settings(
        store.clone(),
        Arc::new(EventLog::new("a", OnFailure::Halt)),
        settings(7),
    );
    let runner_b = Runner::with_settings(
        other_instance.clone(),
        Arc::new(EventLog::new("b", OnFailure::Halt)),
        settings(7),
    );
    let running_a = tokio::spawn(runner_a.run(stopped_a));
    let running_b = tokio::spawn(runner_b.run(stopped_b));

    for round in 0..10 {
        append_test_events(&store, &format!("s{round}"), 5, &[]).await;
    }
    wait_for_rows(&store, 50).await;
    let rows = event_log(store.db()).await;
    assert!(failed::list(store.db(), "event_log")
        .await
        .unwrap()
        .is_empty());
    if backend() != Backend::Postgres {
        // SQLite is one process's file: no lock to hold, and the checkpoint's
        // compare-and-set is what keeps both runners from applying an event twice.
        let _ = stop_a.send(true);
        let _ = stop_b.send(true);
        let _ = tokio::join!(running_a, running_b);
        return;
    }
    let leader = rows[0].1.clone();
    assert!(
        rows.iter().all(|(_, label)| *label == leader),
        "only the lock holder applies events: {rows:?}"
    );
    let (stop_leader, running_leader, follower) = if leader == "a" {
        (stop_a, running_a, "b")
    } else {
        (stop_b, running_b, "a")
    };
    let _ = stop_leader.send(true);
    running_leader.await.unwrap();
    append_test_events(&store, "after", 5, &[]).await;
    wait_for_rows(&store, 55).await;
    let rows = event_log(store.db()).await;
    assert!(
        rows[50..].iter().all(|(_, label)| label == follower),
        "{rows:?}"
    );
}
