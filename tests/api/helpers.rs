use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use authlog::{Application, Settings};
use authlog_api::auth::Clock;
use authlog_api::config::PasswordHashing;
use authlog_api::Auth;
use authlog_eventstore::testing::TestDatabase;
use authlog_eventstore::{Cursor, RecordedEvent};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

pub(crate) const PASSWORD: &str = "correct-horse-battery";

/// A running server and what tests need to look inside it.
pub(crate) struct TestApp {
    pub(crate) origin: String,
    pub(crate) auth: Auth,
    /// Kept alive for the app's lifetime (a SQLite file lives in its directory), and shared
    /// with the siblings started on the same database.
    database: Arc<TestDatabase>,
    /// The development mailbox the mail consumer writes to (shared with siblings).
    pub(crate) mailbox: std::path::PathBuf,
    mail_dir: Arc<tempfile::TempDir>,
    /// What the app was started with, for its siblings.
    settings: Settings,
    http: reqwest::Client,
    /// Milliseconds added to the wall clock the server reads (shared with siblings).
    clock_offset: Arc<AtomicI64>,
}

/// Starts the server with test-friendly settings (cheap hashing, deletion enabled).
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Also returns the in-process bus, subscribed before anything is published.
pub(crate) async fn spawn_app_with_bus() -> (TestApp, authlog_bus::in_process::InProcessBus) {
    let (app, bus) = build(|_| {}).await;
    (app, bus)
}

pub(crate) async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    build(configure).await.0
}

/// With before hooks installed.
pub(crate) async fn spawn_app_with_hooks(
    hooks: Vec<std::sync::Arc<dyn authlog_api::auth::hooks::BeforeHook>>,
) -> TestApp {
    build_with(|_| {}, hooks).await.0
}

async fn build(
    configure: impl FnOnce(&mut Settings),
) -> (TestApp, authlog_bus::in_process::InProcessBus) {
    build_with(configure, Vec::new()).await
}

async fn build_with(
    configure: impl FnOnce(&mut Settings),
    hooks: Vec<std::sync::Arc<dyn authlog_api::auth::hooks::BeforeHook>>,
) -> (TestApp, authlog_bus::in_process::InProcessBus) {
    let database = Arc::new(TestDatabase::create().await);
    let mut settings = Settings {
        port: 0,
        database_url: database.url.clone(),
        secret: Some("test-secret-test-secret-test-secret-0123".to_owned()),
        delete_user_enabled: true,
        // Cheap Argon2id: these tests check behaviour, not cost.
        password_hashing: PasswordHashing {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            workers: 2,
            queue: 256,
        },
        ..Settings::default()
    };
    let mail_dir = tempfile::tempdir().expect("mailbox directory");
    let mailbox = mail_dir.path().join("mailbox.jsonl");
    settings.mail.mailbox = Some(mailbox.clone());
    configure(&mut settings);
    let shared = Shared {
        database,
        mailbox,
        mail_dir: Arc::new(mail_dir),
        clock_offset: Arc::new(AtomicI64::new(0)),
    };
    start(shared, settings, hooks).await
}

/// What an app shares with its siblings.
struct Shared {
    database: Arc<TestDatabase>,
    mailbox: std::path::PathBuf,
    mail_dir: Arc<tempfile::TempDir>,
    clock_offset: Arc<AtomicI64>,
}

/// Builds and serves an app on the shared database, reading the wall clock plus the shared
/// offset.
async fn start(
    shared: Shared,
    settings: Settings,
    hooks: Vec<std::sync::Arc<dyn authlog_api::auth::hooks::BeforeHook>>,
) -> (TestApp, authlog_bus::in_process::InProcessBus) {
    let Shared {
        database,
        mailbox,
        mail_dir,
        clock_offset,
    } = shared;
    let offset = clock_offset.clone();
    let clock = Clock::from_fn(move || {
        chrono::Utc::now() + chrono::Duration::milliseconds(offset.load(Ordering::SeqCst))
    });
    let app = Application::build_with_clock(settings.clone(), clock)
        .await
        .expect("build the app")
        .with_before_hooks(hooks);
    let origin = format!("http://127.0.0.1:{}", app.port());
    let auth = app.auth().clone();
    let bus = app.bus().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let app = TestApp {
        origin,
        auth,
        database,
        mailbox,
        mail_dir,
        settings,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock_offset,
    };
    (app, bus)
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub(crate) fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// Another instance on the same database and clock, started with this one's settings
    /// as changed by `configure`: a second server of a deployment, or this one restarted
    /// with a new configuration.
    pub(crate) async fn spawn_sibling(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        configure(&mut settings);
        let shared = Shared {
            database: self.database.clone(),
            mailbox: self.mailbox.clone(),
            mail_dir: self.mail_dir.clone(),
            clock_offset: self.clock_offset.clone(),
        };
        start(shared, settings, Vec::new()).await.0
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/api/auth{path}", self.origin)
    }

    /// Moves the server's clock forward.
    pub(crate) fn advance(&self, duration: chrono::Duration) {
        self.clock_offset
            .fetch_add(duration.num_milliseconds(), Ordering::SeqCst);
    }

    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, HeaderValue::from_str(value).unwrap());
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Answer {
            status,
            headers,
            text,
        }
    }

    /// A JSON POST as the official client sends it: Origin, and cookies when given.
    pub(crate) async fn post(&self, path: &str, body: Value, cookie: Option<&str>) -> Answer {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("origin", self.origin.as_str()),
        ];
        if let Some(cookie) = cookie {
            headers.push(("cookie", cookie));
        }
        self.request(
            reqwest::Method::POST,
            path,
            &headers,
            Some(body.to_string()),
        )
        .await
    }

    pub(crate) async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
        self.request(reqwest::Method::GET, path, &headers, None)
            .await
    }

    /// Signs a new user up and returns them signed in.
    pub(crate) async fn sign_up(&self) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let answer = self
            .post(
                "/sign-up/email",
                serde_json::json!({"name": "Test User", "email": email, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let body = answer.json();
        TestUser {
            email,
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
            cookie: cookie_header(&answer),
        }
    }

    /// Signs an existing user in again (a second session).
    pub(crate) async fn sign_in(&self, email: &str) -> TestUser {
        let answer = self
            .post(
                "/sign-in/email",
                serde_json::json!({"email": email, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let body = answer.json();
        TestUser {
            email: email.to_owned(),
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
            cookie: cookie_header(&answer),
        }
    }

    /// Every event in the log, in order.
    pub(crate) async fn events(&self) -> Vec<RecordedEvent> {
        let store = self.auth.store();
        let total = store.count().await.unwrap() as usize;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut events = Vec::new();
        let mut cursor = Cursor::default();
        // On PostgreSQL the safe cursor waits for older transactions of the whole cluster
        // (other tests), so read until every counted event has been seen.
        while events.len() < total {
            assert!(std::time::Instant::now() < deadline, "log not readable");
            let batch = store.read_all(cursor, 1000).await.unwrap();
            match batch.last() {
                Some(last) => cursor = last.cursor(),
                None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
            events.extend(batch);
        }
        events
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub(crate) struct TestUser {
    pub(crate) email: String,
    pub(crate) id: String,
    pub(crate) token: String,
    /// `better-auth.session_token=...`, ready for a Cookie header.
    pub(crate) cookie: String,
}

/// The Cookie header a browser would send after this response (cookies with a value).
pub(crate) fn cookie_header(answer: &Answer) -> String {
    let mut jar = BTreeMap::new();
    for line in answer.set_cookies() {
        let pair = line.split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        if !value.is_empty() {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }
    jar.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl TestApp {
    /// Waits for the mail of `kind` to `to` (the newest when there are several) in the
    /// development mailbox; mail is sent by a consumer shortly after the request commits.
    pub(crate) async fn mail(&self, kind: &str, to: &str) -> Value {
        self.mails(kind, to, 1).await.pop().unwrap()
    }

    /// Waits until at least `count` mails of `kind` to `to` are in the mailbox.
    pub(crate) async fn mails(&self, kind: &str, to: &str, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&self.mailbox).unwrap_or_default();
            let found: Vec<Value> = text
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|mail| mail["kind"] == kind && mail["to"] == to)
                .collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {kind} mail to {to}; mailbox:\n{text}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The path and query of a mailed link, to request it from this server.
    pub(crate) fn link_path(&self, url: &str) -> String {
        url.split_once("/api/auth")
            .map(|(_, rest)| rest.to_owned())
            .expect("a link to this server")
    }
}
