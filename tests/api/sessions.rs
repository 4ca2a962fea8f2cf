use chrono::Duration;
use serde_json::json;

use crate::helpers::{cookie_header, spawn_app};

#[tokio::test]
async fn get_session_without_a_valid_cookie_is_null_and_not_cached() {
    let app = spawn_app().await;
    let answer = app.get("/get-session", None).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, "null"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("pragma"), Some("no-cache"));
    assert!(answer.set_cookies().is_empty());
    // A tampered signature is anonymous too, and clears nothing.
    let user = app.sign_up().await;
    let tampered = user.cookie.replacen(&user.token[..4], "AAAA", 1);
    let answer = app.get("/get-session", Some(&tampered)).await;
    assert_eq!(answer.text, "null");
    assert!(answer.set_cookies().is_empty());
    // A stray cookie-cache cookie is cleared.
    let answer = app
        .get(
            "/get-session",
            Some("better-auth.session_data=eyJmb28iOjF9"),
        )
        .await;
    assert_eq!(
        answer.set_cookies(),
        ["better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"]
    );
}

#[tokio::test]
async fn get_session_returns_the_session_and_user_in_better_auths_shape() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app.get("/get-session", Some(&user.cookie)).await;
    assert_eq!(answer.status, 200);
    assert!(answer.set_cookies().is_empty(), "no refresh is due yet");
    let body = answer.json();
    let session = body["session"].as_object().unwrap();
    let keys: Vec<&str> = session.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "expiresAt",
            "token",
            "createdAt",
            "updatedAt",
            "ipAddress",
            "userAgent",
            "userId",
            "id"
        ]
    );
    assert_eq!(session["token"], user.token.as_str());
    assert_eq!(session["userId"], user.id.as_str());
    assert_eq!(session["ipAddress"], "");
    assert_eq!(body["user"]["email"], user.email.as_str());
}

#[tokio::test]
async fn a_session_is_extended_once_update_age_has_passed() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let before = app.get("/get-session", Some(&user.cookie)).await.json();

    app.advance(Duration::hours(23));
    let answer = app.get("/get-session", Some(&user.cookie)).await;
    assert!(answer.set_cookies().is_empty(), "not yet a day old");

    app.advance(Duration::hours(2));
    // disableRefresh (any non-empty value, even "false") reads without extending.
    let answer = app
        .get("/get-session?disableRefresh=false", Some(&user.cookie))
        .await;
    assert!(answer.set_cookies().is_empty());
    assert_eq!(
        answer.json()["session"]["expiresAt"],
        before["session"]["expiresAt"]
    );

    let answer = app.get("/get-session", Some(&user.cookie)).await;
    let cookies = answer.set_cookies();
    assert_eq!(cookies.len(), 1);
    assert!(
        cookies[0].starts_with(&user.cookie),
        "the same token is sent again"
    );
    assert!(cookies[0].contains("Max-Age=604800"));
    let after = answer.json();
    let extended = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v["session"]["expiresAt"].as_str().unwrap()).unwrap()
    };
    // Extended by the 25 hours the clock moved (plus the real time the test took).
    let gained = extended(&after) - extended(&before);
    assert!(
        gained >= Duration::hours(25) && gained < Duration::hours(25) + Duration::minutes(1),
        "{gained}"
    );
    assert_eq!(
        after["session"]["createdAt"],
        before["session"]["createdAt"]
    );
    let last = app.events().await.into_iter().last().unwrap();
    assert_eq!(last.event_type, "session.refreshed");
    // Right after a refresh, no second one.
    assert!(app
        .get("/get-session", Some(&user.cookie))
        .await
        .set_cookies()
        .is_empty());
}

#[tokio::test]
async fn an_expired_session_is_gone_and_its_cookies_are_cleared() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    app.advance(Duration::days(8));
    let answer = app.get("/get-session", Some(&user.cookie)).await;
    assert_eq!(answer.text, "null");
    assert_eq!(answer.set_cookies().len(), 3);
    let answer = app.get("/list-sessions", Some(&user.cookie)).await;
    assert_eq!(
        (answer.status, answer.code()),
        (401, "UNAUTHORIZED".to_owned())
    );
    assert_eq!(answer.set_cookies().len(), 3);
}

#[tokio::test]
async fn list_sessions_gives_the_own_token_and_handles_for_the_others() {
    let app = spawn_app().await;
    let first = app.sign_up().await;
    let second = app.sign_in(&first.email).await;
    let listed = app.get("/list-sessions", Some(&first.cookie)).await.json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let own = listed
        .iter()
        .find(|s| s["token"] == first.token.as_str())
        .expect("own raw token");
    let other = listed.iter().find(|s| s["id"] != own["id"]).unwrap();
    assert_ne!(
        other["token"],
        second.token.as_str(),
        "other sessions' raw tokens are not stored"
    );

    // The handle revokes the other session.
    let answer = app
        .post(
            "/revoke-session",
            json!({"token": other["token"]}),
            Some(&first.cookie),
        )
        .await;
    assert_eq!(answer.json(), json!({"status": true}));
    assert!(answer.set_cookies().is_empty());
    assert_eq!(
        app.get("/get-session", Some(&second.cookie)).await.text,
        "null"
    );
    assert_ne!(
        app.get("/get-session", Some(&first.cookie)).await.text,
        "null"
    );
}

#[tokio::test]
async fn list_sessions_needs_a_fresh_session() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    app.advance(Duration::hours(25));
    let answer = app.get("/list-sessions", Some(&user.cookie)).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.json(),
        json!({"message": "Session is not fresh", "code": "SESSION_NOT_FRESH"})
    );
}

#[tokio::test]
async fn revoking_someone_elses_session_does_nothing() {
    let app = spawn_app().await;
    let mallory = app.sign_up().await;
    let victim = app.sign_up().await;
    for token in [victim.token.as_str(), "no-such-token"] {
        let answer = app
            .post(
                "/revoke-session",
                json!({"token": token}),
                Some(&mallory.cookie),
            )
            .await;
        assert_eq!(answer.json(), json!({"status": true}));
    }
    assert_ne!(
        app.get("/get-session", Some(&victim.cookie)).await.text,
        "null"
    );
    let answer = app
        .post("/revoke-session", json!({}), Some(&mallory.cookie))
        .await;
    assert_eq!(
        answer.json()["message"],
        "[body.token] Invalid input: expected string, received undefined"
    );
}

#[tokio::test]
async fn revoking_the_own_session_by_token_signs_out() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/revoke-session",
            json!({"token": user.token}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.set_cookies().len(), 3);
    assert_eq!(
        app.get("/get-session", Some(&user.cookie)).await.text,
        "null"
    );
}

#[tokio::test]
async fn revoke_other_sessions_keeps_the_caller_and_revoke_sessions_ends_all() {
    let app = spawn_app().await;
    let first = app.sign_up().await;
    let second = app.sign_in(&first.email).await;
    let third = app.sign_in(&first.email).await;

    let answer = app
        .post("/revoke-other-sessions", json!({}), Some(&first.cookie))
        .await;
    assert_eq!(answer.json(), json!({"status": true}));
    assert!(answer.set_cookies().is_empty());
    assert_ne!(
        app.get("/get-session", Some(&first.cookie)).await.text,
        "null"
    );
    for other in [&second, &third] {
        assert_eq!(
            app.get("/get-session", Some(&other.cookie)).await.text,
            "null"
        );
    }

    let fourth = app.sign_in(&first.email).await;
    let answer = app
        .request(
            reqwest::Method::POST,
            "/revoke-sessions",
            &[("cookie", &first.cookie), ("origin", &app.origin)],
            None,
        )
        .await;
    assert_eq!(answer.json(), json!({"status": true}));
    assert_eq!(answer.set_cookies().len(), 3);
    for user in [&first, &fourth] {
        assert_eq!(
            app.get("/get-session", Some(&user.cookie)).await.text,
            "null"
        );
    }
    let revocations = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "session.revoked")
        .count();
    assert_eq!(revocations, 4);
}

#[tokio::test]
async fn protected_endpoints_answer_401_without_a_session() {
    let app = spawn_app().await;
    for (method, path) in [
        ("GET", "/list-sessions"),
        ("GET", "/list-accounts"),
        ("POST", "/revoke-sessions"),
        ("POST", "/revoke-other-sessions"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = app.request(method, path, &[], None).await;
        assert_eq!(answer.status, 401, "{path}");
        assert_eq!(
            answer.json(),
            json!({"message": "Unauthorized", "code": "UNAUTHORIZED"})
        );
    }
    let answer = app.post("/update-user", json!({"name": "x"}), None).await;
    assert_eq!(answer.status, 401);
    // A cookie for a session that no longer exists also clears the cookies.
    let user = app.sign_up().await;
    app.post("/sign-out", json!({}), Some(&user.cookie)).await;
    let answer = app
        .post("/update-user", json!({"name": "x"}), Some(&user.cookie))
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.set_cookies().len(), 3);
    let _ = cookie_header(&answer);
}
