use serde_json::json;

use crate::helpers::{cookie_header, spawn_app, PASSWORD};

#[tokio::test]
async fn update_user_changes_the_profile_and_sends_the_cookie_again() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/update-user",
            json!({"name": "Renamed", "image": "https://example.com/a.png"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.json(), json!({"status": true}));
    assert_eq!(answer.set_cookies().len(), 1);
    let session = app.get("/get-session", Some(&user.cookie)).await.json();
    assert_eq!(session["user"]["name"], "Renamed");
    assert_eq!(session["user"]["image"], "https://example.com/a.png");

    let answer = app
        .post("/update-user", json!({"image": null}), Some(&user.cookie))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        app.get("/get-session", Some(&user.cookie)).await.json()["user"]["image"],
        serde_json::Value::Null
    );

    for body in [json!({}), json!({"foo": 1}), json!({"emailVerified": true})] {
        let answer = app.post("/update-user", body, Some(&user.cookie)).await;
        assert_eq!(answer.status, 400);
        assert_eq!(answer.json(), json!({"message": "No fields to update"}));
    }
    let answer = app
        .post(
            "/update-user",
            json!({"name": "N", "email": "x@example.com"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "EMAIL_CAN_NOT_BE_UPDATED".to_owned())
    );
    let answer = app
        .post("/update-user", json!([]), Some(&user.cookie))
        .await;
    assert_eq!(
        answer.json()["message"],
        "[body] Invalid input: expected record, received array"
    );
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_keeps_sessions_by_default() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let other = app.sign_in(&user.email).await;

    let answer = app
        .post(
            "/change-password",
            json!({"currentPassword": "wrong-password", "newPassword": "new-password-1"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "INVALID_PASSWORD".to_owned())
    );
    let answer = app
        .post(
            "/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": "short"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "PASSWORD_TOO_SHORT".to_owned())
    );
    let answer = app
        .post("/change-password", json!({}), Some(&user.cookie))
        .await;
    assert_eq!(
        answer.json()["message"],
        "[body.newPassword] Invalid input: expected string, received undefined; [body.currentPassword] Invalid input: expected string, received undefined"
    );

    let answer = app
        .post(
            "/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": "new-password-1"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["token"], serde_json::Value::Null);
    assert_eq!(body["user"]["id"], user.id.as_str());
    assert!(answer.set_cookies().is_empty());
    assert_ne!(
        app.get("/get-session", Some(&other.cookie)).await.text,
        "null"
    );

    let old = app
        .post(
            "/sign-in/email",
            json!({"email": user.email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(old.status, 401);
    let new = app
        .post(
            "/sign-in/email",
            json!({"email": user.email, "password": "new-password-1"}),
            None,
        )
        .await;
    assert_eq!(new.status, 200);
}

#[tokio::test]
async fn change_password_can_end_every_session_and_open_a_new_one() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let other = app.sign_in(&user.email).await;
    let answer = app
        .post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "new-password-2", "revokeOtherSessions": true}), Some(&user.cookie))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let token = answer.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(answer.set_cookies().len(), 1);
    let fresh = cookie_header(&answer);
    assert!(fresh.contains(&token));
    assert_eq!(
        app.get("/get-session", Some(&other.cookie)).await.text,
        "null"
    );
    assert_eq!(
        app.get("/get-session", Some(&user.cookie)).await.text,
        "null",
        "Better Auth ends the caller's session too"
    );
    assert_eq!(
        app.get("/get-session", Some(&fresh)).await.json()["session"]["token"],
        token.as_str()
    );
}

#[tokio::test]
async fn delete_user_with_the_password_removes_everything_and_frees_the_email() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let other = app.sign_in(&user.email).await;
    let answer = app
        .post(
            "/delete-user",
            json!({"password": "wrong-password"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "INVALID_PASSWORD".to_owned())
    );

    let answer = app
        .post(
            "/delete-user",
            json!({"password": PASSWORD}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(
        answer.json(),
        json!({"success": true, "message": "User deleted"})
    );
    assert_eq!(answer.set_cookies().len(), 3);
    assert_eq!(
        app.get("/get-session", Some(&other.cookie)).await.text,
        "null"
    );
    let answer = app
        .post(
            "/sign-in/email",
            json!({"email": user.email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 401);
    let types: Vec<String> = app
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .filter(|t| t != "attempt.failed" && t != "user.sign_in_failed")
        .skip(4)
        .collect();
    assert_eq!(
        types,
        [
            "user.deleted",
            "session.revoked",
            "session.revoked",
            "account.unlinked"
        ]
    );
    // The email can be used again.
    let again = app
        .post(
            "/sign-up/email",
            json!({"name": "B", "email": user.email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(again.status, 200);
}

#[tokio::test]
async fn delete_user_without_a_password_needs_a_fresh_session() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    app.advance(chrono::Duration::hours(25));
    let answer = app
        .post("/delete-user", json!({}), Some(&user.cookie))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "SESSION_EXPIRED".to_owned())
    );
    let answer = app
        .post("/delete-user", json!({"token": "abc"}), Some(&user.cookie))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (404, "INVALID_TOKEN".to_owned())
    );
}

#[tokio::test]
async fn delete_user_is_off_unless_configured() {
    let app = crate::helpers::spawn_app_with(|s| s.delete_user_enabled = false).await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/delete-user",
            json!({"password": PASSWORD}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!((answer.status, answer.text.as_str()), (404, ""));
}

#[tokio::test]
async fn list_accounts_shows_the_credential_account_without_secrets() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app.get("/list-accounts", Some(&user.cookie)).await;
    let accounts = answer.json();
    let account = accounts[0].as_object().unwrap();
    let keys: Vec<&str> = account.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "accountId",
            "providerId",
            "userId",
            "createdAt",
            "updatedAt",
            "id",
            "scopes"
        ]
    );
    assert_eq!(account["providerId"], "credential");
    assert_eq!(account["accountId"], user.id.as_str());
    assert_eq!(account["scopes"], json!([]));
}

#[tokio::test]
async fn refused_operations_are_recorded_for_the_audit_trail() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    app.post(
        "/change-password",
        json!({"currentPassword": "wrong-password", "newPassword": "new-password-1"}),
        Some(&user.cookie),
    )
    .await;
    app.post(
        "/delete-user",
        json!({"password": "wrong-password"}),
        Some(&user.cookie),
    )
    .await;
    app.post(
        "/sign-in/email",
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        None,
    )
    .await;
    app.post(
        "/reset-password",
        json!({"newPassword": "new-password-1", "token": "forged"}),
        None,
    )
    .await;
    let failures: Vec<serde_json::Value> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "attempt.failed")
        .map(|e| e.payload)
        .collect();
    assert_eq!(
        failures,
        [
            json!({"action": "change_password", "reason": "invalid_password", "user_id": user.id}),
            json!({"action": "delete_user", "reason": "invalid_password", "user_id": user.id}),
            json!({"action": "sign_in", "reason": "unknown_email", "user_id": null}),
            json!({"action": "reset_password", "reason": "invalid_token", "user_id": null}),
        ]
    );
}
