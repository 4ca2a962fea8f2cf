//! NATS for the tests: the shared server on 127.0.0.1:4222 (streams of their own per test),
//! or a `nats-server` process of the test's own (faults: stopped, restarted, persistent).
//!
//! Without NATS a test fails when `CI=true` and is skipped with a notice otherwise.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use authlog_bus::nats::StreamConfig;
use futures_util::StreamExt;
use serde_json::Value;

/// Whether missing NATS must fail the test rather than skip it.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Fails under CI, otherwise prints why the test is skipped.
fn unavailable(what: &str) {
    assert!(!in_ci(), "CI=true and {what}");
    eprintln!("SKIPPED: {what} (set CI=true to make this a failure)");
}

/// The shared JetStream server's URL, if it answers.
pub(crate) async fn shared_server() -> Option<String> {
    let url = std::env::var("AUTHLOG_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let connected = tokio::time::timeout(Duration::from_secs(3), async_nats::connect(&url)).await;
    match connected {
        Ok(Ok(client)) => {
            if let Err(error) = jetstream_answers(client.clone()).await {
                unavailable(&format!("NATS at {url} has no JetStream: {error}"));
                return None;
            }
            sweep_abandoned_streams(client).await;
            Some(url)
        }
        Ok(Err(error)) => {
            unavailable(&format!("NATS at {url} is unreachable: {error}"));
            None
        }
        Err(_) => {
            unavailable(&format!("NATS at {url} does not answer"));
            None
        }
    }
}

/// Whether JetStream's API answers (asking for a stream that does not exist: "not found"
/// is an answer; no responders or a timeout is not).
async fn jetstream_answers(client: async_nats::Client) -> Result<(), String> {
    use async_nats::jetstream::context::GetStreamErrorKind;
    let jetstream = async_nats::jetstream::new(client);
    match jetstream.get_stream("AUTHLOG_TEST_PROBE").await {
        Ok(_) => Ok(()),
        Err(error) if matches!(error.kind(), GetStreamErrorKind::JetStream(_)) => Ok(()),
        Err(error) => Err(error.to_string()),
    }
}

/// Deletes test streams older than an hour: a failed test leaves its stream behind (its
/// messages expire, the stream does not).
async fn sweep_abandoned_streams(client: async_nats::Client) {
    let jetstream = async_nats::jetstream::new(client);
    let mut streams = jetstream.streams();
    let an_hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_secs() as i64 - 3600);
    let mut abandoned = Vec::new();
    while let Some(Ok(info)) = streams.next().await {
        if info.config.name.starts_with(TEST_STREAM_PREFIX)
            && info.created.unix_timestamp() < an_hour_ago
        {
            abandoned.push(info.config.name);
        }
    }
    for name in abandoned {
        let _ = jetstream.delete_stream(&name).await;
    }
}

/// The name of every test stream starts with this.
const TEST_STREAM_PREFIX: &str = "AUTHLOG_TEST_";

/// A stream and subjects no other test uses, on the shared server.
pub(crate) fn private_stream() -> StreamConfig {
    let id = uuid::Uuid::new_v4().simple().to_string();
    StreamConfig {
        name: format!("{TEST_STREAM_PREFIX}{}", &id[..12]),
        subject_prefix: format!("authlog_test_{}.auth", &id[..12]),
        // Short, so what a failed test leaves behind goes away by itself.
        max_age: Duration::from_secs(600),
        ..StreamConfig::default()
    }
}

/// Deletes a test's stream (best effort: it expires anyway).
pub(crate) async fn delete_stream(url: &str, stream: &StreamConfig) {
    if let Ok(client) = async_nats::connect(url).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(&stream.name)
            .await;
    }
}

/// A `nats-server -js` of the test's own, on a free port, storing in a directory that
/// outlives restarts.
pub(crate) struct OwnServer {
    binary: PathBuf,
    port: u16,
    store_dir: tempfile::TempDir,
    process: Option<Child>,
}

impl OwnServer {
    /// Starts one, or returns `None` (skip) when no `nats-server` is installed outside CI.
    pub(crate) async fn start() -> Option<Self> {
        let Some(binary) = find_nats_server() else {
            unavailable("nats-server is not installed (apt-get install nats-server)");
            return None;
        };
        let mut server = Self {
            binary,
            port: super::free_port(),
            store_dir: tempfile::tempdir().expect("temporary directory"),
            process: None,
        };
        server.restart().await;
        Some(server)
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port and store (after [`OwnServer::stop`]).
    pub(crate) async fn restart(&mut self) {
        assert!(self.process.is_none(), "already running");
        let process = Command::new(&self.binary)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = match async_nats::connect(self.url()).await {
                Ok(client) => jetstream_answers(client).await,
                Err(error) => Err(error.to_string()),
            };
            match answer {
                Ok(()) => return,
                Err(error) => assert!(
                    Instant::now() < deadline,
                    "nats-server did not come up: {error}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server the way an operator would (SIGTERM: it writes its store out).
    pub(crate) async fn stop(&mut self) {
        let mut process = self.process.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &process.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while process.try_wait().expect("wait for nats-server").is_none() {
            if Instant::now() > deadline {
                let _ = process.kill();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Some(process) = &mut self.process {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

fn find_nats_server() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("AUTHLOG_TEST_NATS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let mut candidates = vec![PathBuf::from("/usr/sbin/nats-server")];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("nats-server")));
    }
    candidates.into_iter().find(|path| path.is_file())
}

/// One message of the stream.
#[derive(Debug, Clone)]
pub(crate) struct StreamedEvent {
    pub(crate) subject: String,
    pub(crate) message_id: String,
    /// Every header, as `name: value` lines, and the body: what left the building.
    pub(crate) headers_text: String,
    pub(crate) body_text: String,
    pub(crate) envelope: Value,
}

/// The number of messages the stream holds now (0 if it does not exist yet).
pub(crate) async fn stream_len(url: &str, stream: &str) -> u64 {
    let Ok(client) = async_nats::connect(url).await else {
        return 0;
    };
    match async_nats::jetstream::new(client).get_stream(stream).await {
        Ok(mut stream) => stream.info().await.map_or(0, |info| info.state.messages),
        Err(_) => 0,
    }
}

/// Waits until the stream holds at least `count` messages.
pub(crate) async fn wait_for_stream_len(url: &str, stream: &str, count: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let len = stream_len(url, stream).await;
        if len >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the stream holds {len} messages after {within:?}; the log has {count} events"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every message of the stream, in stream order.
pub(crate) async fn read_stream(url: &str, stream_name: &str) -> Vec<StreamedEvent> {
    let client = async_nats::connect(url).await.expect("connect to NATS");
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream.get_stream(stream_name).await.expect("the stream");
    let last_sequence = stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence;
    let mut read = Vec::new();
    if last_sequence == 0 {
        return read;
    }
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .expect("an ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("the stream keeps delivering")
            .expect("more messages")
            .expect("a message");
        let sequence = message.info().expect("message info").stream_sequence;
        let headers = message.headers.clone().unwrap_or_default();
        let headers_text = headers
            .iter()
            .map(|(name, values)| format!("{name}: {values:?}"))
            .collect::<Vec<_>>()
            .join("\n");
        let body_text = String::from_utf8(message.payload.to_vec()).expect("UTF-8 body");
        read.push(StreamedEvent {
            subject: message.subject.to_string(),
            message_id: headers
                .get("Nats-Msg-Id")
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default(),
            headers_text,
            envelope: serde_json::from_str(&body_text).expect("a JSON envelope"),
            body_text,
        });
        if sequence >= last_sequence {
            return read;
        }
    }
}
