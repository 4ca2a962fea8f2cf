//! authlog instances: in this process (to look inside) or the real binary as a child
//! process (to kill it with SIGKILL), and the HTTP calls the tests make.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use authlog::{Application, Settings};
use authlog_api::config::PasswordHashing;
use authlog_bus::nats::StreamConfig;
use serde_json::{json, Value};

pub(crate) const SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub(crate) const PASSWORD: &str = "correct-horse-battery";

/// An instance running in this test's runtime.
pub(crate) struct InProcess {
    pub(crate) origin: String,
}

/// Starts an instance on `database_url` publishing to `stream` at `nats_url`, after
/// `prepare` (e.g. registering consumers) has seen the built application.
pub(crate) async fn in_process(
    database_url: &str,
    nats_url: &str,
    stream: &StreamConfig,
    configure: impl FnOnce(&mut Settings),
    prepare: impl FnOnce(&mut Application),
) -> InProcess {
    let mut settings = Settings {
        port: 0,
        database_url: database_url.to_owned(),
        secret: Some(SECRET.to_owned()),
        password_hashing: PasswordHashing {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            workers: 2,
            queue: 256,
        },
        nats_url: Some(nats_url.to_owned()),
        nats_stream: stream.clone(),
        ..Settings::default()
    };
    configure(&mut settings);
    let mut app = Application::build(settings).await.expect("build the app");
    prepare(&mut app);
    let instance = InProcess {
        origin: format!("http://127.0.0.1:{}", app.port()),
    };
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    instance
}

/// The real `authlog` binary, serving on its own port.
pub(crate) struct ChildServer {
    pub(crate) origin: String,
    process: Child,
}

impl ChildServer {
    /// Starts `authlog serve` and waits until it answers. It writes its output to
    /// [`log_file`] and its mail (a verification mail per sign-up) to [`mailbox_file`] in
    /// `files`.
    pub(crate) async fn start(
        database_url: &str,
        nats_url: &str,
        files: &Path,
        http: &reqwest::Client,
    ) -> Self {
        Self::start_with(database_url, nats_url, files, http, &[]).await
    }

    /// As [`ChildServer::start`], with more environment variables.
    pub(crate) async fn start_with(
        database_url: &str,
        nats_url: &str,
        files: &Path,
        http: &reqwest::Client,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let log_file = log_file(files);
        let port = super::free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .expect("log file");
        let process = Command::new(env!("CARGO_BIN_EXE_authlog"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("NATS_URL", nats_url)
            .env("AUTHLOG_PORT", port.to_string())
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("AUTHLOG_HASH_MEMORY_KIB", "256")
            .env("AUTHLOG_HASH_ITERATIONS", "1")
            .env("AUTHLOG_HASH_WORKERS", "2")
            .env("AUTHLOG_SEND_VERIFICATION_ON_SIGN_UP", "true")
            .env("AUTHLOG_MAILBOX", mailbox_file(files))
            .env("AUTHLOG_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .envs(extra_env.iter().copied())
            .stdin(Stdio::null())
            // The log goes to stdout, errors to stderr.
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start authlog");
        let server = Self {
            origin: format!("http://127.0.0.1:{port}"),
            process,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = http
                .get(format!("{}/api/auth/ok", server.origin))
                .send()
                .await;
            if ok.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "authlog did not start; see {}",
                log_file.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no last checkpoint, no flush.
    pub(crate) fn kill(mut self) {
        self.process.kill().expect("SIGKILL authlog");
        self.process.wait().expect("reap authlog");
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The output of the instance whose files are in `files`.
pub(crate) fn log_file(files: &Path) -> PathBuf {
    files.join("authlog.log")
}

/// The development mailbox of the instance whose files are in `files`.
pub(crate) fn mailbox_file(files: &Path) -> PathBuf {
    files.join("mailbox.jsonl")
}

/// The event ids of the mails in a mailbox file, in the order they were written. A line a
/// crash cut short holds no mail (the mailbox writes it again).
pub(crate) fn mailbox_event_ids(mailbox: &Path) -> Vec<String> {
    std::fs::read_to_string(mailbox)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|mail| mail["event_id"].as_str().map(str::to_owned))
        .collect()
}

/// A new user, as the sign-up answered.
#[derive(Debug, Clone)]
pub(crate) struct SignedUp {
    pub(crate) user_id: String,
    pub(crate) token: String,
    /// The session cookie, ready for a Cookie header.
    pub(crate) cookie: String,
}

/// Signs a new user up over HTTP. `Err` when the server is unreachable or refuses.
pub(crate) async fn sign_up(http: &reqwest::Client, origin: &str) -> Result<SignedUp, String> {
    let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
    let response = http
        .post(format!("{origin}/api/auth/sign-up/email"))
        .header("origin", origin)
        .json(&json!({"name": "Test User", "email": email, "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {body}"));
    }
    Ok(SignedUp {
        user_id: body["user"]["id"].as_str().ok_or("no user id")?.to_owned(),
        token: body["token"].as_str().ok_or("no token")?.to_owned(),
        cookie,
    })
}

/// POSTs `body` with the user's cookie; returns the status.
pub(crate) async fn post(
    http: &reqwest::Client,
    origin: &str,
    path: &str,
    cookie: &str,
    body: Value,
) -> u16 {
    http.post(format!("{origin}/api/auth{path}"))
        .header("origin", origin)
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// The session `/get-session` reports for this cookie (`null` when there is none).
pub(crate) async fn get_session(http: &reqwest::Client, origin: &str, cookie: &str) -> Value {
    http.get(format!("{origin}/api/auth/get-session"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
}
