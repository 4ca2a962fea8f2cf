use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, TestUser, PASSWORD};

const ADMIN_EMAIL: &str = "auditor@example.com";

async fn app_with_admin() -> (TestApp, TestUser) {
    let app = spawn_app_with(|settings| settings.admin.emails = vec![ADMIN_EMAIL.to_owned()]).await;
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "Auditor", "email": ADMIN_EMAIL, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
    // An administrator by email must have verified it.
    let admin = app.sign_in(ADMIN_EMAIL).await;
    app.post(
        "/send-verification-email",
        json!({"email": ADMIN_EMAIL}),
        Some(&admin.cookie),
    )
    .await;
    let mail = app.mail("verify-email", ADMIN_EMAIL).await;
    app.get(
        &format!("/verify-email?token={}", mail["token"].as_str().unwrap()),
        None,
    )
    .await;
    (app, admin)
}

/// The audit trail is a projection that may trail the log: read until `done` holds.
async fn entries(app: &TestApp, cookie: &str, query: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let answer = app.get(&format!("/audit/list?{query}"), Some(cookie)).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let body = answer.json();
        if done(&body) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "audit trail never got there: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn actions(body: &Value) -> BTreeSet<String> {
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_operation_and_failure_is_in_the_audit_trail() {
    let (app, admin) = app_with_admin().await;
    let user = app.sign_up().await;
    let second = app.sign_in(&user.email).await;
    app.post(
        "/sign-in/email",
        json!({"email": user.email, "password": "wrong-password"}),
        None,
    )
    .await;
    app.post(
        "/update-user",
        json!({"name": "Renamed"}),
        Some(&user.cookie),
    )
    .await;
    app.post(
        "/change-password",
        json!({"currentPassword": "wrong-password", "newPassword": "new-password-1"}),
        Some(&user.cookie),
    )
    .await;
    app.post(
        "/change-password",
        json!({"currentPassword": PASSWORD, "newPassword": "new-password-1"}),
        Some(&user.cookie),
    )
    .await;
    app.post(
        "/revoke-session",
        json!({"token": second.token}),
        Some(&user.cookie),
    )
    .await;
    app.post(
        "/send-verification-email",
        json!({"email": user.email}),
        Some(&user.cookie),
    )
    .await;
    let mail = app.mail("verify-email", &user.email).await;
    app.get(
        &format!("/verify-email?token={}", mail["token"].as_str().unwrap()),
        None,
    )
    .await;
    app.post(
        "/request-password-reset",
        json!({"email": user.email}),
        None,
    )
    .await;
    let reset = app.mail("reset-password", &user.email).await;
    app.post(
        "/reset-password",
        json!({"newPassword": "new-password-2", "token": reset["token"]}),
        None,
    )
    .await;
    app.post(
        "/reset-password",
        json!({"newPassword": "new-password-3", "token": reset["token"]}),
        None,
    )
    .await;
    app.advance(chrono::Duration::days(2));
    app.get("/get-session", Some(&user.cookie)).await;
    app.post("/sign-out", json!({}), Some(&user.cookie)).await;

    let expected: BTreeSet<String> = [
        "user_signed_up",
        "account_linked",
        "user_signed_in",
        "user_sign_in_failed",
        "user_updated",
        "change_password_failed",
        "password_changed",
        "session_revoked",
        "verification_email_sent",
        "verification_used",
        "email_verified",
        "password_reset_requested",
        "password_reset",
        "session_refreshed",
        "user_signed_out",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let body = entries(
        &app,
        &admin.cookie,
        &format!("userId={}&limit=500", user.id),
        |body| actions(body).is_superset(&expected),
    )
    .await;
    let failures: Vec<&Value> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "failure")
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    let sign_in_failure = failures
        .iter()
        .find(|e| e["action"] == "user_sign_in_failed")
        .unwrap();
    assert_eq!(
        sign_in_failure["details"],
        json!({"reason": "invalid_password"})
    );
    assert_eq!(
        sign_in_failure["actor"],
        json!({"kind": "anonymous", "id": null})
    );
    // Entries about the user's sessions and accounts are found by the user too.
    assert!(body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["userId"] == user.id.as_str()));
    // Nothing secret is in the trail.
    let text = body.to_string();
    assert!(
        !text.contains("argon2") && !text.contains(&user.token) && !text.contains("token_hash")
    );

    // A used reset token and a sign-in with an unknown email are in the trail too, with no
    // user to file them under.
    entries(
        &app,
        &admin.cookie,
        "action=reset_password_failed",
        |body| body["total"] == 1,
    )
    .await;
    app.post(
        "/sign-in/email",
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        None,
    )
    .await;
    entries(&app, &admin.cookie, "action=sign_in_failed", |body| {
        body["total"] == 1
    })
    .await;
}

#[tokio::test]
async fn only_administrators_list_other_users_entries() {
    let (app, admin) = app_with_admin().await;
    let alice = app.sign_up().await;
    let bob = app.sign_up().await;

    let answer = app
        .get(
            &format!("/audit/list?userId={}", alice.id),
            Some(&bob.cookie),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.json(),
        json!({"message": "You are not allowed to list audit logs", "code": "YOU_ARE_NOT_ALLOWED_TO_LIST_AUDIT_LOGS"})
    );
    let answer = app.get("/audit/list", Some(&bob.cookie)).await;
    assert_eq!(
        answer.status, 403,
        "everyone's entries are for administrators"
    );
    let answer = app.get("/audit/list", None).await;
    assert_eq!(answer.status, 401);

    // A user may read their own trail.
    let own = entries(&app, &bob.cookie, &format!("userId={}", bob.id), |body| {
        body["total"].as_i64() >= Some(3)
    })
    .await;
    assert!(own["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["userId"] == bob.id.as_str()));
    // The administrator reads Alice's.
    let alices = entries(
        &app,
        &admin.cookie,
        &format!("userId={}", alice.id),
        |body| body["total"].as_i64() >= Some(3),
    )
    .await;
    assert!(actions(&alices).contains("user_signed_up"));
}

#[tokio::test]
async fn the_trail_filters_and_pages() {
    let (app, admin) = app_with_admin().await;
    let user = app.sign_up().await;
    for _ in 0..3 {
        app.sign_in(&user.email).await;
    }
    let signed_in = entries(
        &app,
        &admin.cookie,
        &format!("userId={}&action=user_signed_in", user.id),
        |b| b["total"] == 4,
    )
    .await;
    let all: Vec<String> = signed_in["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    // Newest first, then pages of two.
    let page = entries(
        &app,
        &admin.cookie,
        &format!("userId={}&action=user_signed_in&limit=2&offset=2", user.id),
        |_| true,
    )
    .await;
    let page: Vec<String> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(page, all[2..4]);
    let future = "2999-01-01T00:00:00Z";
    let none = entries(
        &app,
        &admin.cookie,
        &format!("userId={}&from={future}", user.id),
        |_| true,
    )
    .await;
    assert_eq!(none["total"], 0);
    let answer = app
        .get("/audit/list?outcome=maybe", Some(&admin.cookie))
        .await;
    assert_eq!(answer.code(), "VALIDATION_ERROR");
}
