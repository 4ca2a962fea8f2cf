//! Projections in the running server and through the CLI: versions rebuilt before serving,
//! async projections run while serving, and the `projections` and `events` commands of the
//! built binary.

use std::process::Command;
use std::sync::Arc;

use authlog::{Application, Settings};
use authlog_api::auth::{Clock, RequestContext, SessionOptions, SignUpEmail};
use authlog_api::config::PasswordHashing;
use authlog_api::Auth;
use authlog_eventstore::testing::TestDatabase;
use authlog_eventstore::{with_reader, with_tx, RecordedEvent, Tx};
use authlog_projections::{state, Projection, Registry, Table, Target};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::helpers::PASSWORD;

fn settings(database: &TestDatabase) -> Settings {
    Settings {
        port: 0,
        database_url: database.url.clone(),
        secret: Some("test-secret-test-secret-test-secret-0123".to_owned()),
        password_hashing: PasswordHashing {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            workers: 2,
            queue: 256,
        },
        ..Settings::default()
    }
}

/// A server on `database` with `registry`, serving until the returned sender is dropped.
async fn start(database: &TestDatabase, registry: Registry) -> (Auth, oneshot::Sender<()>) {
    let app = Application::build_with(settings(database), Clock::system(), registry)
        .await
        .expect("build the app");
    let auth = app.auth().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    (auth, stop)
}

/// Signs a user up and returns their id and session token.
async fn sign_up(auth: &Auth) -> (String, String) {
    let outcome = auth
        .sign_up_email(
            SignUpEmail {
                name: "Ada".to_owned(),
                email: format!("{}@example.com", uuid::Uuid::new_v4().simple()),
                password: PASSWORD.to_owned(),
                image: None,
                remember_me: true,
                callback_url: None,
            },
            &RequestContext::default(),
        )
        .await
        .unwrap();
    (outcome.user.id, outcome.session.unwrap().token)
}

/// Runs the built `authlog` binary against `database`.
fn authlog(database: &TestDatabase, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_authlog"))
        .arg("--database-url")
        .arg(&database.url)
        .args(args)
        .env("AUTHLOG_LOG", "warn")
        .output()
        .expect("run authlog");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The session read model with another version number.
struct Bumped(Arc<dyn Projection>);

#[async_trait::async_trait]
impl Projection for Bumped {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn version(&self) -> i32 {
        self.0.version() + 1
    }
    fn tables(&self) -> &'static [Table] {
        self.0.tables()
    }
    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        self.0.apply_batch(tx, events, target).await
    }
}

#[tokio::test]
async fn a_new_session_read_model_version_is_rebuilt_before_the_server_serves() {
    let database = TestDatabase::create().await;
    let (auth, stop) = start(&database, Registry::standard()).await;
    let (_, token) = sign_up(&auth).await;
    drop(stop);

    let standard = Registry::standard();
    let inline = standard
        .inline()
        .iter()
        .map(|projection| match projection.name() {
            "sessions" => Arc::new(Bumped(projection.clone())) as Arc<dyn Projection>,
            _ => projection.clone(),
        })
        .collect();
    let app = Application::build_with(
        settings(&database),
        Clock::system(),
        Registry::new(inline, Vec::new()),
    )
    .await
    .unwrap();
    let saved = state::load(app.auth().store().db(), "sessions")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.version, 2, "rebuilt during build, before serving");
    assert!(saved.rebuilt_at.is_some());
    let session = app
        .auth()
        .session(&token, SessionOptions::default())
        .await
        .unwrap();
    assert!(
        session.is_some(),
        "the rebuilt table still knows the session"
    );
}

/// `sign_ins`: how many sessions each user opened. Registering it is all it takes to have
/// the server keep it up to date.
struct SignIns;

const SIGN_INS: &[Table] = &[Table {
    name: "sign_ins",
    columns: &["user_id", "sessions"],
}];

#[async_trait::async_trait]
impl Projection for SignIns {
    fn name(&self) -> &'static str {
        "sign_ins"
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables(&self) -> &'static [Table] {
        SIGN_INS
    }
    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO {} (user_id, sessions) VALUES ($1, 1)
             ON CONFLICT (user_id) DO UPDATE SET sessions = {0}.sessions + 1",
            target.table("sign_ins")
        );
        for event in events.iter().filter(|e| e.event_type == "session.created") {
            let user_id = event.payload["user_id"].as_str().unwrap_or_default();
            with_tx!(&mut *tx, |conn| {
                sqlx::query(&sql).bind(user_id).execute(&mut *conn).await?;
            });
        }
        Ok(())
    }
}

#[tokio::test]
async fn registered_async_projections_run_while_serving() {
    let database = TestDatabase::create().await;
    let db = database.connect().await;
    let mut tx = db.begin().await.unwrap();
    with_tx!(&mut tx, |conn| {
        sqlx::raw_sql("CREATE TABLE sign_ins (user_id TEXT PRIMARY KEY, sessions BIGINT NOT NULL)")
            .execute(&mut *conn)
            .await
            .unwrap();
    });
    tx.commit().await.unwrap();
    let registry = Registry::standard().with_async(Arc::new(SignIns));
    let (auth, _stop) = start(&database, registry).await;
    let (user_id, _) = sign_up(&auth).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let row: Option<(i64,)> = with_reader!(&db, |pool| {
            sqlx::query_as("SELECT sessions FROM sign_ins WHERE user_id = $1")
                .bind(&user_id)
                .fetch_optional(pool)
                .await
                .unwrap()
        });
        if row == Some((1,)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the runner never applied the sign-up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_cli_reports_rebuilds_and_reads_the_log() {
    let database = TestDatabase::create().await;
    let (auth, _stop) = start(&database, Registry::standard()).await;
    let (user_id, _) = sign_up(&auth).await;
    sign_up(&auth).await;

    // The async audit trail catches up a moment after the inline tables.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let statuses = loop {
        let (ok, stdout, stderr) = authlog(&database, &["projections", "status", "--json"]);
        assert!(ok, "{stderr}");
        let statuses: Value = serde_json::from_str(&stdout).unwrap();
        let caught_up = statuses
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["lag_events"] == 0);
        if caught_up || std::time::Instant::now() > deadline {
            break statuses;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let names: Vec<&str> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|status| status["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "users",
            "sessions",
            "accounts",
            "verifications",
            "audit_log"
        ]
    );
    assert!(statuses
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["lag_events"] == 0));

    let (ok, stdout, stderr) =
        authlog(&database, &["projections", "rebuild", "sessions", "--json"]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["swapped"], true);
    assert_eq!(report["tables"][0]["equal"], 2);
    assert_eq!(report["tables"][0]["differing"], 0);
    assert!(
        stderr.contains("rebuild sessions: replaying the log"),
        "progress: {stderr}"
    );

    let db = auth.store().db();
    let mut tx = db.begin().await.unwrap();
    with_tx!(&mut tx, |conn| {
        sqlx::query("UPDATE sessions SET ip_address = 'tampered' WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *conn)
            .await
            .unwrap();
    });
    tx.commit().await.unwrap();
    let (ok, stdout, _) = authlog(
        &database,
        &["projections", "rebuild", "sessions", "--dry-run"],
    );
    assert!(!ok, "a dry run that finds differences fails");
    assert!(stdout.contains("1 differing"), "{stdout}");
    assert!(stdout.contains("ip_address: live=tampered"), "{stdout}");

    let (ok, _, stderr) = authlog(&database, &["projections", "rebuild", "nope"]);
    assert!(
        !ok && stderr.contains("known: users, sessions, accounts"),
        "{stderr}"
    );

    let (ok, stdout, stderr) = authlog(&database, &["events", "show", &user_id]);
    assert!(ok, "{stderr}");
    let types: Vec<&str> = stdout
        .lines()
        .map(|line| line.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(types, ["user.created", "account.linked", "session.created"]);
    assert!(
        stdout.contains(r#""password_hash":"<redacted>""#),
        "{stdout}"
    );
    assert!(!stdout.contains("$argon2"), "{stdout}");

    // The safe cursor can hold events back while other tests' transactions run: ask again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (ok, stdout, stderr) = authlog(
            &database,
            &[
                "events",
                "tail",
                "--from-start",
                "--no-follow",
                "--type",
                "session.*",
                "--json",
            ],
        );
        assert!(ok, "{stderr}");
        let events: Vec<Value> = stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert!(events.iter().all(|e| e["type"] == "session.created"));
        if events.len() == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tail never saw both sessions"
        );
    }
}
