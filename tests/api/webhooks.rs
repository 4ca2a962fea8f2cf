use std::sync::{Arc, Mutex};
use std::time::Duration;

use authlog_bus::webhooks::delivery::signature;
use authlog_bus::webhooks::filter::EventFilter;
use authlog_bus::webhooks::{dead_letters, RetryPolicy, Webhook};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app_with, TestApp};

const SECRET: &str = "webhook-secret-0123456789";

/// What a receiver got: headers and raw body of each call.
type Calls = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A loopback HTTP receiver answering every call with `status`.
async fn receiver(status: StatusCode) -> (String, Calls) {
    let calls: Calls = Arc::default();
    let record = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push((headers, body.to_vec()));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

async fn app_calling(url: &str, events: &[&str]) -> TestApp {
    let webhook = Webhook {
        url: url.to_owned(),
        secret: SECRET.to_owned(),
        events: EventFilter::new(events.iter().map(|e| (*e).to_owned()).collect()),
    };
    spawn_app_with(|settings| {
        settings.webhooks = vec![webhook];
        settings.webhook_retry = RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(10),
            request_timeout: Duration::from_secs(5),
        };
    })
    .await
}

async fn wait_for(calls: &Calls, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while calls.lock().unwrap().len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} calls",
            calls.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn matching_events_are_posted_once_signed_and_without_secrets() {
    let (url, calls) = receiver(StatusCode::OK).await;
    let app = app_calling(&url, &["user.created", "account.*"]).await;
    let user = app.sign_up().await;
    wait_for(&calls, 2).await;
    // Give a duplicate time to show up, if one were coming.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.len(),
        2,
        "user.created and account.linked, not session.created"
    );

    let (headers, body) = &calls[0];
    let envelope: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(envelope["type"], "user.created");
    assert_eq!(envelope["aggregate_id"], user.id.as_str());
    assert_eq!(envelope["data"]["email"], user.email.as_str());
    assert_eq!(headers["idempotency-key"], envelope["id"].as_str().unwrap());
    assert_eq!(headers["x-authlog-event"], "user.created");
    let timestamp = headers["x-authlog-timestamp"].to_str().unwrap();
    assert_eq!(
        headers["x-authlog-signature"],
        signature(SECRET, timestamp, body).as_str()
    );

    let (_, body) = &calls[1];
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.contains("account.linked"));
    assert!(
        !text.contains("argon2") && !text.contains("password_hash"),
        "{text}"
    );
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_ends_in_the_dead_letters() {
    let (url, calls) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let app = app_calling(&url, &["user.created"]).await;
    let user = app.sign_up().await;
    wait_for(&calls, 3).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let letters = loop {
        let letters = dead_letters::list(app.auth.store().db()).await.unwrap();
        if !letters.is_empty() {
            break letters;
        }
        assert!(std::time::Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].webhook, url);
    assert_eq!(letters[0].event_type, "user.created");
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(letters[0].last_status, Some(500));
    // Three attempts, then the stream moved on: nothing more is tried for this event.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls.lock().unwrap().len(), 3);
    let _ = user;
}

/// Side effects come only from durable consumers: replaying the log into the projections
/// (a rebuild) sends no mail and calls no webhook.
#[tokio::test]
async fn rebuilding_the_projections_sends_no_mail_and_calls_no_webhook() {
    let (url, calls) = receiver(StatusCode::OK).await;
    let app = app_calling(&url, &["*"]).await;
    let user = app.sign_up().await;
    app.post(
        "/request-password-reset",
        serde_json::json!({"email": user.email}),
        None,
    )
    .await;
    app.mail("reset-password", &user.email).await;
    let events = app.events().await.len();
    wait_for(&calls, events).await;
    let mails_before = std::fs::read_to_string(&app.mailbox).unwrap();

    let store = app.auth.store();
    let replayed =
        authlog_projections::rebuild::rebuild_in_place(store, &authlog_projections::core())
            .await
            .unwrap();
    assert_eq!(replayed as usize, events);
    // Give a stray side effect time to show up, if one were coming.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(calls.lock().unwrap().len(), events, "no webhook call");
    assert_eq!(
        std::fs::read_to_string(&app.mailbox).unwrap(),
        mails_before,
        "no mail"
    );
}
