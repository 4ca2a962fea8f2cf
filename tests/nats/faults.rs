//! Faults, against the real `authlog` binary and a `nats-server` of the test's own: the
//! server killed with SIGKILL at random moments during sign-ups, the publishing instance of
//! two killed, and NATS stopped for [`NATS_OUTAGE`] in the middle of sign-ups. Afterwards the
//! stream must hold every event of the log exactly once, in the log's order, and the mailbox
//! every verification mail once (each sign-up mails one; the mail consumer reads its durable
//! NATS consumer).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authlog_eventstore::testing::TestDatabase;
use authlog_eventstore::{Backend, RecordedEvent};
use rand::{Rng, SeedableRng};

use crate::support::instance::{log_file, mailbox_event_ids, mailbox_file, sign_up, ChildServer};
use crate::support::nats::{read_stream, wait_for_stream_len, OwnServer};
use crate::support::{assert_each_once_in_order, log_events};

/// How long NATS stays down in the outage test (the 30 s).
const NATS_OUTAGE: Duration = Duration::from_secs(30);
/// How many times the server is killed.
const KILLS: usize = 4;
/// Sign-ups sent at once while the server may be killed.
const PARALLEL_CLIENTS: usize = 3;
/// A generous bound for the stream to catch up with the log.
const CATCH_UP: Duration = Duration::from_secs(60);

/// Sign-ups in a loop until told to stop; the users whose sign-up was answered with 200.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    acknowledged: Arc<Mutex<Vec<String>>>,
}

impl Load {
    fn start(http: &reqwest::Client, origin: &str, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let tasks = (0..clients)
            .map(|_| {
                let (http, origin) = (http.clone(), origin.to_owned());
                let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        match sign_up(&http, &origin).await {
                            Ok(user) => acknowledged.lock().unwrap().push(user.user_id),
                            // The server is being killed: its requests fail.
                            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            tasks,
            acknowledged,
        }
    }

    /// Stops the loop; returns the users whose sign-up was acknowledged.
    async fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.expect("load task");
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        acknowledged
    }
}

/// Compares the log with the stream once the stream has caught up, and checks that every
/// acknowledged sign-up is in the log. Returns the log.
async fn assert_the_stream_matches_the_log(
    database_url: &str,
    nats_url: &str,
    acknowledged_users: &[String],
) -> Vec<RecordedEvent> {
    let log = log_events(database_url).await;
    let created_users: Vec<&str> = log
        .iter()
        .filter(|e| e.event_type == "user.created")
        .map(|e| e.aggregate_id.as_str())
        .collect();
    for user in acknowledged_users {
        assert!(
            created_users.contains(&user.as_str()),
            "acknowledged sign-up of {user} is not in the log"
        );
    }
    wait_for_stream_len(nats_url, "AUTH_EVENTS", log.len() as u64, CATCH_UP).await;
    let streamed = read_stream(nats_url, "AUTH_EVENTS").await;
    let log_ids: Vec<String> = log.iter().map(|e| e.event_id.to_string()).collect();
    let stream_ids: Vec<String> = streamed.iter().map(|m| m.message_id.clone()).collect();
    assert_each_once_in_order(&log_ids, &stream_ids, "stream AUTH_EVENTS");
    for (message, event) in streamed.iter().zip(&log) {
        assert_eq!(message.subject, format!("auth.{}", event.event_type));
    }
    eprintln!(
        "{} events ({} sign-ups acknowledged) in the stream exactly once, in order",
        log.len(),
        acknowledged_users.len()
    );
    log
}

/// Waits for the mail consumer (over its durable NATS consumer) to catch up, then checks
/// that every `verification.issued` of the log was mailed exactly once, in order.
async fn assert_each_mail_sent_once(log: &[RecordedEvent], files: &Path) {
    let issued: Vec<String> = log
        .iter()
        .filter(|e| e.event_type == "verification.issued")
        .map(|e| e.event_id.to_string())
        .collect();
    assert!(!issued.is_empty(), "no verification mail was issued");
    let mailbox = mailbox_file(files);
    let deadline = Instant::now() + CATCH_UP;
    while mailbox_event_ids(&mailbox).len() < issued.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_each_once_in_order(&issued, &mailbox_event_ids(&mailbox), "mailbox");
    eprintln!("{} mails sent exactly once, in order", issued.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_event_reaches_the_stream_once_through_sigkills() {
    let Some(nats) = OwnServer::start().await else {
        return;
    };
    let database = TestDatabase::create().await;
    let files = tempfile::tempdir().unwrap();
    let log_file = log_file(files.path());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let seed: u64 = rand::random();
    eprintln!(
        "SIGKILL test seed {seed}; server log {}",
        log_file.display()
    );
    let mut random = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acknowledged = Vec::new();
    for _ in 0..KILLS {
        let server = ChildServer::start(&database.url, &nats.url(), files.path(), &http).await;
        let load = Load::start(&http, &server.origin, PARALLEL_CLIENTS);
        tokio::time::sleep(Duration::from_millis(random.gen_range(300..1500))).await;
        server.kill();
        acknowledged.extend(load.finish().await);
    }
    let server = ChildServer::start(&database.url, &nats.url(), files.path(), &http).await;
    let load = Load::start(&http, &server.origin, PARALLEL_CLIENTS);
    tokio::time::sleep(Duration::from_millis(500)).await;
    acknowledged.extend(load.finish().await);
    assert!(acknowledged.len() > KILLS, "too few sign-ups got through");
    let server_log = std::fs::read_to_string(&log_file).unwrap_or_default();
    eprintln!(
        "{} of {KILLS} restarts resumed after the stream's last event, ahead of the checkpoint",
        server_log
            .matches("the sink is ahead of the checkpoint")
            .count()
    );
    let log = assert_the_stream_matches_the_log(&database.url, &nats.url(), &acknowledged).await;
    assert_each_mail_sent_once(&log, files.path()).await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_go_on_while_nats_is_down_and_every_event_arrives_afterwards() {
    let Some(mut nats) = OwnServer::start().await else {
        return;
    };
    let database = TestDatabase::create().await;
    let files = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let server = ChildServer::start(&database.url, &nats.url(), files.path(), &http).await;
    let mut acknowledged = Vec::new();
    let sign_ups_for = |duration: Duration| {
        let (http, origin) = (http.clone(), server.origin.clone());
        async move {
            let mut users = Vec::new();
            let until = Instant::now() + duration;
            while Instant::now() < until {
                let user = sign_up(&http, &origin)
                    .await
                    .unwrap_or_else(|e| panic!("a sign-up failed: {e}"));
                users.push(user.user_id);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            users
        }
    };
    acknowledged.extend(sign_ups_for(Duration::from_secs(1)).await);
    wait_for_stream_len(&nats.url(), "AUTH_EVENTS", 1, CATCH_UP).await;

    nats.stop().await;
    let during_outage = sign_ups_for(NATS_OUTAGE).await;
    assert!(!during_outage.is_empty());
    acknowledged.extend(during_outage);
    nats.restart().await;
    acknowledged.extend(sign_ups_for(Duration::from_secs(1)).await);

    let log = assert_the_stream_matches_the_log(&database.url, &nats.url(), &acknowledged).await;
    assert_each_mail_sent_once(&log, files.path()).await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_instance_takes_over_publishing_when_the_publisher_is_killed() {
    let Some(nats) = OwnServer::start().await else {
        return;
    };
    let database = TestDatabase::create().await;
    // Files of their own each: two processes would write one mailbox blind to each other's
    // lines (the development mailbox is for one process), so mail is not checked here.
    let (first_files, second_files) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let second_log = log_file(second_files.path());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let first = ChildServer::start(&database.url, &nats.url(), first_files.path(), &http).await;
    let second = ChildServer::start(&database.url, &nats.url(), second_files.path(), &http).await;
    let on_postgres = authlog_eventstore::testing::backend() == Backend::Postgres;
    if on_postgres {
        // The first instance holds the publisher lock: the second says it stands by.
        wait_for_log_line(&second_log, "standing by").await;
    }
    let load_on_first = Load::start(&http, &first.origin, 1);
    let load_on_second = Load::start(&http, &second.origin, 1);
    tokio::time::sleep(Duration::from_millis(800)).await;
    first.kill();
    let mut acknowledged = load_on_first.finish().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    acknowledged.extend(load_on_second.finish().await);
    if on_postgres {
        wait_for_log_line(&second_log, "took over publishing").await;
    }
    assert_the_stream_matches_the_log(&database.url, &nats.url(), &acknowledged).await;
    drop(second);
}

/// Waits until an instance's log contains `needle`.
async fn wait_for_log_line(log_file: &Path, needle: &str) {
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let log = std::fs::read_to_string(log_file).unwrap_or_default();
        if log.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never said {needle:?}:\n{log}",
            log_file.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_while_nats_is_down_serves_and_publishes_once_it_is_up() {
    let Some(mut nats) = OwnServer::start().await else {
        return;
    };
    nats.stop().await;
    let database = TestDatabase::create().await;
    let files = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let server = ChildServer::start(&database.url, &nats.url(), files.path(), &http).await;
    wait_for_log_line(&log_file(files.path()), "NOT connected").await;
    let mut acknowledged = Vec::new();
    for _ in 0..5 {
        let user = sign_up(&http, &server.origin).await.expect("a sign-up");
        acknowledged.push(user.user_id);
    }
    nats.restart().await;
    let log = assert_the_stream_matches_the_log(&database.url, &nats.url(), &acknowledged).await;
    assert_each_mail_sent_once(&log, files.path()).await;
    drop(server);
}
