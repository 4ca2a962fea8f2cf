use std::collections::HashSet;

use authlog_eventstore::with_reader;
use serde_json::json;

use crate::helpers::{spawn_app, PASSWORD};

/// 50 parallel sign-ups of one email: exactly one user, 49 refusals, one `user.created`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_sign_ups_of_one_email_create_exactly_one_user() {
    let app = std::sync::Arc::new(spawn_app().await);
    let attempts: Vec<_> = (0..50)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post("/sign-up/email", json!({"name": format!("Racer {i}"), "email": "race@example.com", "password": PASSWORD}), None)
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        let answer = attempt.await.unwrap();
        if answer.status == 422 {
            assert_eq!(answer.code(), "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
        }
        statuses.push(answer.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        49,
        "{statuses:?}"
    );
    let events = app.events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "user.created")
            .count(),
        1
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "account.linked")
            .count(),
        1
    );
    let users: (i64,) = with_reader!(app.auth.store().db(), |pool| {
        sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!(users.0, 1);
}

/// Drives every kind of event the core writes.
async fn workload(app: &crate::helpers::TestApp) {
    let alice = app.sign_up().await;
    let alice_2 = app.sign_in(&alice.email).await;
    app.post(
        "/sign-in/email",
        json!({"email": alice.email, "password": "wrong-password"}),
        None,
    )
    .await;
    app.post(
        "/update-user",
        json!({"name": "Alice", "image": "https://example.com/a.png"}),
        Some(&alice.cookie),
    )
    .await;
    app.post("/update-user", json!({"image": null}), Some(&alice.cookie))
        .await;
    app.post(
        "/revoke-session",
        json!({"token": alice_2.token}),
        Some(&alice.cookie),
    )
    .await;
    let bob = app.sign_up().await;
    app.sign_in(&bob.email).await;
    app.post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "another-password", "revokeOtherSessions": true}), Some(&bob.cookie)).await;
    let carol = app.sign_up().await;
    app.post(
        "/delete-user",
        json!({"password": PASSWORD}),
        Some(&carol.cookie),
    )
    .await;
    app.advance(chrono::Duration::days(2));
    app.get("/get-session", Some(&alice.cookie)).await; // a refresh
    app.post("/sign-out", json!({}), Some(&alice.cookie)).await;
    let dave = app.sign_up().await;
    // One reset token used, one left outstanding.
    app.post("/request-password-reset", json!({"email": bob.email}), None)
        .await;
    let token = app.mail("reset-password", &bob.email).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/reset-password",
        json!({"newPassword": "reset-password-1", "token": token}),
        None,
    )
    .await;
    app.post(
        "/request-password-reset",
        json!({"email": dave.email}),
        None,
    )
    .await;
}

/// Dropping the projections and replaying the log gives the same rows, on either backend.
#[tokio::test]
async fn rebuilt_projections_equal_the_live_ones() {
    let app = spawn_app().await;
    workload(&app).await;
    let store = app.auth.store();
    let projections = authlog_projections::core();
    let mut live = Vec::new();
    for projection in &projections {
        for table in projection.tables() {
            live.push(
                authlog_projections::rebuild::snapshot(store, table)
                    .await
                    .unwrap(),
            );
        }
    }
    assert!(
        live.iter().all(|rows| !rows.is_empty()),
        "the workload leaves rows in every table"
    );

    let replayed = authlog_projections::rebuild::rebuild_in_place(store, &projections)
        .await
        .unwrap();
    assert_eq!(replayed as i64, store.count().await.unwrap());

    let mut rebuilt = Vec::new();
    for projection in &projections {
        for table in projection.tables() {
            rebuilt.push(
                authlog_projections::rebuild::snapshot(store, table)
                    .await
                    .unwrap(),
            );
        }
    }
    assert_eq!(live, rebuilt);
}

/// No raw session token (nor plaintext password) appears anywhere at rest: not in any
/// table, not in any event payload or metadata.
#[tokio::test]
async fn no_raw_token_or_password_is_stored() {
    let app = spawn_app().await;
    let mut secrets = HashSet::new();
    for _ in 0..3 {
        let user = app.sign_up().await;
        secrets.insert(user.token.clone());
        secrets.insert(app.sign_in(&user.email).await.token);
        let answer = app
            .post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "rotated-password", "revokeOtherSessions": true}), Some(&user.cookie))
            .await;
        secrets.insert(answer.json()["token"].as_str().unwrap().to_owned());
    }
    secrets.insert(PASSWORD.to_owned());
    secrets.insert("rotated-password".to_owned());

    let tables = [
        "events",
        "users",
        "sessions",
        "accounts",
        "unique_constraints",
        "keys",
        "checkpoints",
    ];
    let mut dump = String::new();
    for table in tables {
        let rows: Vec<String> = with_reader!(app.auth.store().db(), |pool| {
            let sql = format!("SELECT * FROM {table}");
            use sqlx::{Column, Row};
            let rows = sqlx::query(&sql).fetch_all(pool).await.unwrap();
            rows.iter()
                .map(|row| {
                    (0..row.columns().len())
                        .map(|i| {
                            row.try_get::<Option<String>, _>(i)
                                .ok()
                                .flatten()
                                .or_else(|| {
                                    row.try_get::<Option<i64>, _>(i)
                                        .ok()
                                        .flatten()
                                        .map(|v| v.to_string())
                                })
                                .unwrap_or_else(|| format!("<{}>", row.column(i).name()))
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        });
        dump.push_str(&rows.join("\n"));
    }
    for event in app.events().await {
        dump.push_str(&event.payload.to_string());
        dump.push_str(&serde_json::to_string(&event.metadata).unwrap());
    }
    assert!(dump.contains("session.created"), "the dump covers the log");
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "a raw secret is stored: {secret}"
        );
    }
}

/// Committed events reach the in-process bus, in order.
#[tokio::test]
async fn committed_events_reach_the_in_process_bus() {
    let (app, bus) = crate::helpers::spawn_app_with_bus().await;
    let mut events = bus.subscribe();
    let user = app.sign_up().await;
    let mut types = Vec::new();
    while types.len() < 3 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        types.push(event.event_type.clone());
        if event.event_type == "user.created" {
            assert_eq!(event.aggregate_id, user.id);
        }
    }
    assert_eq!(types, ["user.created", "account.linked", "session.created"]);
}
