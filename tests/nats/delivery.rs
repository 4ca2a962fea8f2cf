//! Delivery over the shared NATS server, each test on a stream of its own: what a
//! subscriber sees after a sign-up, what never leaves, durable consumers across instances,
//! and cache eviction across instances.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authlog_bus::consumer::{Consumer, ConsumerError};
use authlog_bus::nats::sink::JetStreamSink;
use authlog_bus::Sink;
use authlog_eventstore::testing::TestDatabase;
use authlog_eventstore::{Metadata, RecordedEvent};
use futures_util::StreamExt;
use serde_json::{json, Value};
use sha2::Digest;

use crate::support::instance::{self, get_session, post, sign_up, PASSWORD};
use crate::support::nats::{delete_stream, private_stream, read_stream, shared_server};
use crate::support::{assert_each_once_in_order, log_events};

/// A generous bound for a message to arrive; the issue asks for "within a second", which
/// the test reports rather than asserts (no timing assertions in `cargo test`). On
/// PostgreSQL the safe cursor waits for every older transaction of the cluster, so a long
/// transaction elsewhere (another test, a benchmark) delays delivery by its length.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

async fn next_envelope(subscription: &mut async_nats::Subscriber) -> (String, Value) {
    let message = tokio::time::timeout(DELIVERY_DEADLINE, subscription.next())
        .await
        .expect("an event within the deadline")
        .expect("the subscription is open");
    let envelope = serde_json::from_slice(&message.payload).expect("a JSON envelope");
    (message.subject.to_string(), envelope)
}

#[tokio::test]
async fn a_sign_up_reaches_subscribers_once_with_the_user_id_and_no_secret() {
    let Some(url) = shared_server().await else {
        return;
    };
    let stream = private_stream();
    let database = TestDatabase::create().await;
    let app = instance::in_process(&database.url, &url, &stream, |_| {}, |_| {}).await;
    let http = reqwest::Client::new();
    let subscriber = async_nats::connect(&url).await.unwrap();
    let mut subscription = subscriber.subscribe(stream.all_subjects()).await.unwrap();
    subscriber.flush().await.unwrap();

    let started = Instant::now();
    let ada = sign_up(&http, &app.origin).await.unwrap();
    let answered = Instant::now();
    let user_created = stream.subject("user.created");
    let (subject, envelope) = loop {
        let (subject, envelope) = next_envelope(&mut subscription).await;
        if subject == user_created {
            break (subject, envelope);
        }
    };
    let received = Instant::now();
    eprintln!(
        "sign-up -> {subject}: {:?} after the HTTP answer ({:?} after the request was sent)",
        received - answered,
        received - started
    );
    assert_eq!(envelope["type"], "user.created");
    assert_eq!(envelope["envelope"], 1);
    assert_eq!(envelope["aggregate_id"], ada.user_id.as_str());
    assert_eq!(envelope["data"]["user_id"], ada.user_id.as_str());
    assert!(envelope["data"]["email"]
        .as_str()
        .unwrap()
        .ends_with("@example.com"));

    // A second sign-up: the stream is in order, so a second copy of Ada's event would
    // come before Bob's.
    let bob = sign_up(&http, &app.origin).await.unwrap();
    let mut users_created = vec![ada.user_id.clone()];
    loop {
        let (subject, envelope) = next_envelope(&mut subscription).await;
        if subject == user_created {
            let user_id = envelope["data"]["user_id"].as_str().unwrap().to_owned();
            users_created.push(user_id.clone());
            if user_id == bob.user_id {
                break;
            }
        }
    }
    assert_eq!(
        users_created,
        vec![ada.user_id.clone(), bob.user_id.clone()]
    );

    // Change the password, sign out and in: events whose log payloads hold a password
    // hash or a token hash. None of it may leave.
    let changed = post(
        &http,
        &app.origin,
        "/change-password",
        &ada.cookie,
        json!({"currentPassword": PASSWORD, "newPassword": "another-horse-battery"}),
    )
    .await;
    assert_eq!(changed, 200);
    assert_eq!(
        post(&http, &app.origin, "/sign-out", &ada.cookie, json!({})).await,
        200
    );
    let log = log_events(&database.url).await;
    crate::support::nats::wait_for_stream_len(
        &url,
        &stream.name,
        log.len() as u64,
        DELIVERY_DEADLINE,
    )
    .await;
    let streamed = read_stream(&url, &stream.name).await;
    let log_ids: Vec<String> = log.iter().map(|e| e.event_id.to_string()).collect();
    let stream_ids: Vec<String> = streamed.iter().map(|m| m.message_id.clone()).collect();
    assert_each_once_in_order(&log_ids, &stream_ids, "stream");
    let mut secrets = vec!["$argon2".to_owned(), "_hash".to_owned()];
    for user in [&ada, &bob] {
        secrets.push(user.token.clone());
        secrets.push(hex::encode(sha2::Sha256::digest(user.token.as_bytes())));
    }
    for event in log.iter().filter(|e| e.event_type.starts_with("account.")) {
        if let Some(hash) = event.payload["password_hash"].as_str() {
            secrets.push(hash.to_owned());
        }
    }
    assert!(
        secrets.len() >= 9,
        "the log holds password hashes: {secrets:?}"
    );
    for message in &streamed {
        for secret in &secrets {
            assert!(
                !message.body_text.contains(secret.as_str())
                    && !message.headers_text.contains(secret.as_str())
                    && !message.subject.contains(secret.as_str()),
                "{secret:?} left in {}: {}",
                message.subject,
                message.body_text
            );
        }
        let (log_event, envelope) = (
            log.iter()
                .find(|e| e.event_id.to_string() == message.message_id)
                .unwrap(),
            &message.envelope,
        );
        assert_eq!(message.subject, stream.subject(&log_event.event_type));
        assert_eq!(envelope["id"], message.message_id.as_str());
        assert_eq!(envelope["position"], log_event.global_position);
        let data = envelope["data"].as_object().expect("data is an object");
        for field in data.keys() {
            assert!(
                !["password", "token", "hash"]
                    .iter()
                    .any(|s| field.contains(s)),
                "{} publishes {field}",
                log_event.event_type
            );
        }
    }
    delete_stream(&url, &stream).await;
}

/// Records the event ids it handles, shared by every instance's copy; fails while
/// `failures_left` is above zero.
struct RecordingConsumer {
    handled: Arc<Mutex<Vec<String>>>,
    failures_left: Arc<Mutex<u32>>,
}

#[async_trait::async_trait]
impl Consumer for RecordingConsumer {
    fn name(&self) -> &'static str {
        "test-recorder"
    }

    fn wants(&self, event_type: &str) -> bool {
        event_type == "user.created"
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), ConsumerError> {
        // The consumer reads the event from the log: the full payload, as embedded.
        assert!(event.payload.get("email").is_some());
        {
            let mut failures_left = self.failures_left.lock().unwrap();
            if *failures_left > 0 {
                *failures_left -= 1;
                return Err(ConsumerError("the mail server is down".into()));
            }
        }
        self.handled
            .lock()
            .unwrap()
            .push(event.event_id.to_string());
        Ok(())
    }
}

#[tokio::test]
async fn a_durable_consumer_handles_each_event_once_across_instances() {
    let Some(url) = shared_server().await else {
        return;
    };
    let stream = private_stream();
    let database = TestDatabase::create().await;
    let handled = Arc::new(Mutex::new(Vec::new()));
    // The first offers fail: the event must come again, before any later one.
    let failures_left = Arc::new(Mutex::new(2));
    let mut instances = Vec::new();
    for _ in 0..2 {
        let consumer = Arc::new(RecordingConsumer {
            handled: handled.clone(),
            failures_left: failures_left.clone(),
        });
        instances.push(
            instance::in_process(
                &database.url,
                &url,
                &stream,
                |_| {},
                |app| {
                    app.register_consumer(consumer);
                },
            )
            .await,
        );
    }
    let http = reqwest::Client::new();
    for round in 0..10 {
        sign_up(&http, &instances[round % 2].origin).await.unwrap();
    }
    let expected: Vec<String> = log_events(&database.url)
        .await
        .iter()
        .filter(|e| e.event_type == "user.created")
        .map(|e| e.event_id.to_string())
        .collect();
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    while handled.lock().unwrap().len() < expected.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let handled = handled.lock().unwrap().clone();
    assert_each_once_in_order(&expected, &handled, "consumer test-recorder");
    assert_eq!(*failures_left.lock().unwrap(), 0);
    delete_stream(&url, &stream).await;
}

#[tokio::test]
async fn a_session_signed_out_on_one_instance_stops_working_on_the_other_at_once() {
    let Some(url) = shared_server().await else {
        return;
    };
    let stream = private_stream();
    let database = TestDatabase::create().await;
    // A cache entry that would outlive the test: only the remote event can evict it.
    let long_cache = |settings: &mut authlog::Settings| {
        settings.session.cache_ttl = Duration::from_secs(300);
    };
    let first = instance::in_process(&database.url, &url, &stream, long_cache, |_| {}).await;
    let second = instance::in_process(&database.url, &url, &stream, long_cache, |_| {}).await;
    let http = reqwest::Client::new();
    let ada = sign_up(&http, &first.origin).await.unwrap();
    let seen_by_second = get_session(&http, &second.origin, &ada.cookie).await;
    assert_eq!(seen_by_second["user"]["id"], ada.user_id.as_str());
    let cached = get_session(&http, &second.origin, &ada.cookie).await;
    assert_eq!(cached["user"]["id"], ada.user_id.as_str());

    assert_eq!(
        post(&http, &first.origin, "/sign-out", &ada.cookie, json!({})).await,
        200
    );
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    loop {
        let session = get_session(&http, &second.origin, &ada.cookie).await;
        if session.is_null() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second instance still serves the signed-out session: {session}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    delete_stream(&url, &stream).await;
}

/// After a crash the publisher asks the stream for its last event and resumes after it, so
/// what was published but not yet checkpointed is not offered again.
#[tokio::test]
async fn the_sink_reports_the_last_event_the_stream_holds() {
    let Some(url) = shared_server().await else {
        return;
    };
    let stream = private_stream();
    let client = async_nats::connect(&url).await.unwrap();
    let sink = JetStreamSink::new(async_nats::jetstream::new(client), stream.clone());
    assert_eq!(sink.last_delivered().await.unwrap(), None);
    let events: Vec<RecordedEvent> = (1..=3).map(user_created).collect();
    for event in &events {
        sink.publish(event).await.unwrap();
    }
    // Published twice (a retry whose ack was lost): still the last one, stored once.
    sink.publish(&events[1]).await.unwrap();
    assert_eq!(
        sink.last_delivered().await.unwrap(),
        Some(events[2].event_id)
    );
    let streamed = read_stream(&url, &stream.name).await;
    let ids: Vec<String> = streamed.iter().map(|m| m.message_id.clone()).collect();
    let expected: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
    assert_each_once_in_order(&expected, &ids, "stream");
    delete_stream(&url, &stream).await;
}

fn user_created(position: i64) -> RecordedEvent {
    RecordedEvent {
        global_position: position,
        tx_id: 0,
        event_id: uuid::Uuid::now_v7(),
        aggregate_type: "user".into(),
        aggregate_id: format!("u{position}"),
        version: 1,
        event_type: "user.created".into(),
        event_version: 1,
        payload: json!({"user_id": format!("u{position}"), "email": "a@example.com",
            "name": "A", "image": null, "email_verified": false}),
        metadata: Metadata::system(),
        occurred_at: chrono::Utc::now(),
    }
}
