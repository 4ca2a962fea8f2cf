//! Rebuilding projections into shadow tables: the rebuilt rows equal the live ones, the
//! schema survives the swap, differences are reported, and appends made during a rebuild
//! are not lost.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use authlog_eventstore::testing::TestDatabase;
use authlog_eventstore::{with_reader, Db, EventStore};
use authlog_projections::rebuild::{self, DifferenceKind, RebuildOptions, RebuildReport};
use authlog_projections::runner::{Runner, RunnerSettings, Step};
use authlog_projections::{state, Mode, OnFailure, Projection, Registry};
use support::{count, execute, Users};

async fn rebuild(store: &EventStore, name: &str, swap: bool) -> RebuildReport {
    let (projection, mode) = Registry::standard().find(name).unwrap();
    rebuild::rebuild(store, &projection, mode, RebuildOptions { swap }, &|_| {})
        .await
        .unwrap()
}

/// The table's indexes as the database describes them (name and definition), sorted.
async fn schema(db: &Db, table: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = match db {
        Db::Sqlite { reader, .. } => sqlx::query_as(
            "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE tbl_name = $1 AND type = 'index'",
        )
        .bind(table)
        .fetch_all(reader)
        .await
        .unwrap(),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename = $1",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    let columns_sql = match db {
        Db::Sqlite { .. } => "SELECT name, type FROM pragma_table_info($1)",
        Db::Postgres(_) => {
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_name = $1"
        }
    };
    let mut columns: Vec<(String, String)> = with_reader!(db, |pool| {
        sqlx::query_as(columns_sql)
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert!(!columns.is_empty());
    rows.append(&mut columns);
    rows.sort();
    rows
}

async fn workload(database: &TestDatabase) -> EventStore {
    let store = support::open(database).await;
    let mut users = Users::new(&store);
    users.workload(30).await;
    store
}

#[tokio::test]
async fn rebuilt_projections_equal_the_live_ones_and_keep_their_schema() {
    let (database, _) = support::store().await;
    let store = workload(&database).await;
    for name in ["users", "sessions", "accounts"] {
        let before = schema(store.db(), name).await;
        let dry_run = rebuild(&store, name, false).await;
        assert!(dry_run.is_identical(), "{dry_run:?}");
        assert!(!dry_run.swapped);
        let report = rebuild(&store, name, true).await;
        assert!(report.is_identical(), "{report:?}");
        assert!(report.swapped);
        assert_eq!(report.replayed as i64, store.count().await.unwrap());
        assert_eq!(
            schema(store.db(), name).await,
            before,
            "the swap keeps {name}'s schema"
        );
    }
    assert_eq!(count(store.db(), "sessions").await, 30);
    assert_eq!(count(store.db(), "users").await, 30);
    let saved = state::load(store.db(), "sessions").await.unwrap().unwrap();
    assert!(saved.rebuilt_at.is_some());
    assert_eq!(
        saved.cursor.position,
        rebuild(&store, "sessions", false).await.position
    );
}

#[tokio::test]
async fn a_corrupted_live_table_is_reported_and_repaired_by_the_swap() {
    let (database, _) = support::store().await;
    let store = workload(&database).await;
    let ids: Vec<(String,)> = with_reader!(store.db(), |pool| {
        sqlx::query_as("SELECT id FROM sessions ORDER BY id LIMIT 2")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let (changed, deleted) = (&ids[0].0, &ids[1].0);
    execute(
        store.db(),
        &format!("UPDATE sessions SET expires_at = 42 WHERE id = '{changed}'"),
    )
    .await;
    execute(
        store.db(),
        &format!("DELETE FROM sessions WHERE id = '{deleted}'"),
    )
    .await;
    execute(
        store.db(),
        "INSERT INTO sessions SELECT 'zz-bogus', 'bogus-hash', user_id, expires_at, ip_address,
             user_agent, dont_remember, created_at, updated_at, version FROM sessions LIMIT 1",
    )
    .await;

    let report = rebuild(&store, "sessions", false).await;
    let table = &report.tables[0];
    assert!(!report.is_identical());
    assert_eq!(
        (table.differing, table.only_live, table.only_rebuilt),
        (1, 1, 1)
    );
    assert_eq!(table.equal, table.live_rows - 2);
    let differs = table.sample.iter().find(|d| &d.key == changed).unwrap();
    assert_eq!(differs.kind, DifferenceKind::Differs);
    assert_eq!(differs.columns.len(), 1);
    assert_eq!(differs.columns[0].column, "expires_at");
    assert_eq!(differs.columns[0].live.as_deref(), Some("42"));
    let missing = table.sample.iter().find(|d| &d.key == deleted).unwrap();
    assert_eq!(missing.kind, DifferenceKind::OnlyRebuilt);
    let bogus = table.sample.iter().find(|d| d.key == "zz-bogus").unwrap();
    assert_eq!(bogus.kind, DifferenceKind::OnlyLive);

    let swapped = rebuild(&store, "sessions", true).await;
    assert!(!swapped.is_identical(), "the swap reports what it repaired");
    assert!(rebuild(&store, "sessions", false).await.is_identical());
}

/// Appends keep coming from another "process" while the rebuild replays, catches up and
/// swaps; afterwards the live table equals a fresh replay of the whole log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_during_a_rebuild_are_not_lost() {
    let (database, server) = support::store().await;
    let cli = support::open(&database).await;
    let mut users = Users::new(&server);
    users.workload(40).await;

    let stop = Arc::new(AtomicBool::new(false));
    let appending = tokio::spawn({
        let (server, stop) = (server.clone(), stop.clone());
        async move {
            let mut users = Users::new(&server);
            let mut rounds = 0;
            while !stop.load(Ordering::SeqCst) || rounds < 5 {
                users.workload(1).await;
                rounds += 1;
            }
            users.open.len()
        }
    });
    // Rebuild until appends were seen landing during one (they nearly always do at once).
    let mut overlapped = false;
    for _ in 0..10 {
        let before = server.count().await.unwrap();
        let report = rebuild(&cli, "sessions", true).await;
        let after = server.count().await.unwrap();
        assert!(report.swapped);
        if after > before {
            overlapped = true;
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let still_open = appending.await.unwrap();
    assert!(overlapped, "no append landed during a rebuild");

    assert!(rebuild(&cli, "sessions", false).await.is_identical());
    assert_eq!(
        count(server.db(), "sessions").await,
        (users.open.len() + still_open) as i64
    );
}

/// An async projection behind the log is rebuilt to the head; its checkpoint moves with the
/// swap and the runner goes on from there.
#[tokio::test]
async fn an_async_projection_is_rebuilt_and_its_checkpoint_moves_with_it() {
    let (_database, store) = support::store().await;
    support::create_event_log_table(store.db()).await;
    support::append_test_events(&store, "one", 30, &[]).await;
    let projection: Arc<dyn Projection> = Arc::new(support::EventLog::new("a", OnFailure::Halt));
    let settings = RunnerSettings {
        batch_events: 10,
        ..RunnerSettings::default()
    };
    let runner = Runner::with_settings(store.clone(), projection.clone(), settings);
    let patience = support::Patience::new("a first batch");
    while !matches!(runner.step().await.unwrap(), Step::Applied(_)) {
        patience.wait().await;
    }
    let behind = support::event_log(store.db()).await.len();
    assert!(behind <= 10);

    let report = rebuild::rebuild(
        &store,
        &projection,
        Mode::Async,
        RebuildOptions { swap: true },
        &|_| {},
    )
    .await
    .unwrap();
    assert!(
        report.is_identical(),
        "the live rows were brought to the same position: {report:?}"
    );
    let rows = support::event_log(store.db()).await;
    let saved = state::load(store.db(), "event_log").await.unwrap().unwrap();
    assert_eq!(saved.cursor.position, report.position);
    assert_eq!(rows.last().map(|row| row.0), Some(report.position));
    assert!(rows.len() >= behind);
    assert_eq!(
        runner.step().await.unwrap(),
        Step::Idle,
        "nothing left before the checkpoint"
    );
}
