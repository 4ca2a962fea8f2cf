//! Projection versions: tables built by another version of a projection are rebuilt from
//! the log at start-up (`versions::ensure_current`), before they are served.

mod support;

use std::sync::Arc;

use authlog_eventstore::{RecordedEvent, Tx};
use authlog_projections::runner::{Runner, RunnerSettings, Step};
use authlog_projections::sessions::Sessions;
use authlog_projections::users::Users;
use authlog_projections::{
    accounts, state, versions, OnFailure, Projection, Registry, Table, Target,
};
use support::{count, Users as Workload};

/// A projection exactly like another but for its version: what shipping a new version of
/// the session read model looks like to the start-up check.
struct Bumped {
    inner: Arc<dyn Projection>,
    version: i32,
}

#[async_trait::async_trait]
impl Projection for Bumped {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn version(&self) -> i32 {
        self.version
    }

    fn tables(&self) -> &'static [Table] {
        self.inner.tables()
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        self.inner.apply_batch(tx, events, target).await
    }
}

fn core_with_sessions(sessions: Arc<dyn Projection>) -> Registry {
    Registry::new(
        vec![Arc::new(Users), sessions, Arc::new(accounts::Accounts)],
        Vec::new(),
    )
}

#[tokio::test]
async fn a_new_version_of_the_session_read_model_is_rebuilt_at_start_up() {
    let (_database, store) = support::store().await;
    Workload::new(&store).workload(10).await;
    let sessions = count(store.db(), "sessions").await;

    let current = core_with_sessions(Arc::new(Sessions));
    assert!(versions::ensure_current(&store, &current)
        .await
        .unwrap()
        .is_empty());

    let bumped = core_with_sessions(Arc::new(Bumped {
        inner: Arc::new(Sessions),
        version: 2,
    }));
    let reports = versions::ensure_current(&store, &bumped).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].projection, "sessions");
    assert!(reports[0].swapped && reports[0].is_identical());
    let saved = state::load(store.db(), "sessions").await.unwrap().unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(count(store.db(), "sessions").await, sessions);

    // Done once: the next start finds it current.
    assert!(versions::ensure_current(&store, &bumped)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn an_inline_projection_never_recorded_is_built_at_start_up() {
    let (_database, store) = support::store().await;
    Workload::new(&store).workload(3).await;
    support::execute(
        store.db(),
        "DELETE FROM projection_state WHERE name = 'accounts'",
    )
    .await;
    let reports = versions::ensure_current(&store, &Registry::standard())
        .await
        .unwrap();
    assert_eq!(
        reports.iter().map(|r| r.projection).collect::<Vec<_>>(),
        ["accounts"]
    );
    assert!(state::load(store.db(), "accounts").await.unwrap().is_some());
}

#[tokio::test]
async fn a_new_version_of_an_async_projection_replaces_the_rows_and_stops_old_runners() {
    let (_database, store) = support::store().await;
    support::create_event_log_table(store.db()).await;
    support::append_test_events(&store, "one", 12, &[]).await;
    let first = Arc::new(support::EventLog::new("one", OnFailure::Halt));
    let registry = Registry::new(Vec::new(), vec![first.clone()]);
    assert!(versions::ensure_current(&store, &registry)
        .await
        .unwrap()
        .is_empty());
    let old_runner = Runner::with_settings(store.clone(), first, RunnerSettings::default());
    let patience = support::Patience::new("the first version applies the log");
    while support::event_log(store.db()).await.len() < 12 {
        old_runner.step().await.unwrap();
        patience.wait().await;
    }

    let mut second = support::EventLog::new("two", OnFailure::Halt);
    second.version = 2;
    let registry = Registry::new(Vec::new(), vec![Arc::new(second)]);
    let reports = versions::ensure_current(&store, &registry).await.unwrap();
    assert_eq!(reports.len(), 1);
    let rows = support::event_log(store.db()).await;
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|(_, label)| label == "two"), "{rows:?}");
    assert_eq!(
        old_runner.step().await.unwrap(),
        Step::Superseded { stored_version: 2 }
    );
}
