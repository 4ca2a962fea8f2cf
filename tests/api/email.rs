use std::sync::Arc;

use serde_json::json;

use crate::helpers::{cookie_header, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn a_verification_link_verifies_the_email_once() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/send-verification-email",
            json!({"email": user.email, "callbackURL": "/welcome"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.json(), json!({"status": true}), "{}", answer.text);
    let mail = app.mail("verify-email", &user.email).await;
    let url = mail["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/api/auth/verify-email?token=",
            app.auth.config().base_url
        )),
        "{url}"
    );
    assert!(url.ends_with("&callbackURL=%2Fwelcome"), "{url}");
    assert!(url.contains(mail["token"].as_str().unwrap()));

    let answer = app.get(&app.link_path(url), None).await;
    assert_eq!(
        (answer.status, answer.header("location")),
        (302, Some("/welcome"))
    );
    let session = app.get("/get-session", Some(&user.cookie)).await.json();
    assert_eq!(session["user"]["emailVerified"], true);

    // Used up: the same link now reports the error to the app.
    let answer = app.get(&app.link_path(url), None).await;
    assert_eq!(
        answer.header("location"),
        Some("/welcome?error=INVALID_TOKEN")
    );
    let token = mail["token"].as_str().unwrap();
    let answer = app.get(&format!("/verify-email?token={token}"), None).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json(),
        json!({"message": "Invalid token", "code": "INVALID_TOKEN"})
    );

    // A verified user cannot ask again.
    let answer = app
        .post(
            "/send-verification-email",
            json!({"email": user.email}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.code(), "EMAIL_ALREADY_VERIFIED");
    let answer = app
        .post(
            "/send-verification-email",
            json!({"email": "other@example.com"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.code(), "EMAIL_MISMATCH");
}

#[tokio::test]
async fn anonymous_verification_requests_answer_alike_and_no_sooner_than_half_a_second() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    for email in [user.email.as_str(), "nobody@example.com"] {
        let started = std::time::Instant::now();
        let answer = app
            .request(
                reqwest::Method::POST,
                "/send-verification-email",
                &[("content-type", "application/json")],
                Some(json!({"email": email}).to_string()),
            )
            .await;
        assert_eq!(answer.json(), json!({"status": true}));
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(500),
            "{email}"
        );
    }
    app.mail("verify-email", &user.email).await;
}

#[tokio::test]
async fn required_verification_blocks_sign_in_until_the_link_is_followed() {
    let app = spawn_app_with(|s| s.require_email_verification = true).await;
    let email = "new-user@example.com";
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "N", "email": email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json()["token"],
        serde_json::Value::Null,
        "no session before verification"
    );
    assert!(answer.set_cookies().is_empty());
    // A second sign-up with the address reveals nothing.
    let again = app
        .post(
            "/sign-up/email",
            json!({"name": "M", "email": email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(again.status, 200);
    assert_ne!(again.json()["user"]["id"], answer.json()["user"]["id"]);

    let refused = app
        .post(
            "/sign-in/email",
            json!({"email": email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json(),
        json!({"message": "Email not verified", "code": "EMAIL_NOT_VERIFIED"})
    );

    let mail = app.mail("verify-email", email).await;
    let answer = app
        .get(&app.link_path(mail["url"].as_str().unwrap()), None)
        .await;
    assert_eq!(answer.status, 302);
    let answer = app
        .post(
            "/sign-in/email",
            json!({"email": email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["user"]["emailVerified"], true);
}

#[tokio::test]
async fn auto_sign_in_after_verification_opens_a_session() {
    let app = spawn_app_with(|s| {
        s.require_email_verification = true;
        s.mail.email_verification.auto_sign_in_after_verification = true;
    })
    .await;
    let email = "auto@example.com";
    app.post(
        "/sign-up/email",
        json!({"name": "A", "email": email, "password": PASSWORD}),
        None,
    )
    .await;
    let mail = app.mail("verify-email", email).await;
    let token = mail["token"].as_str().unwrap();
    let answer = app.get(&format!("/verify-email?token={token}"), None).await;
    assert_eq!(answer.json(), json!({"status": true, "user": null}));
    let session = app
        .get("/get-session", Some(&cookie_header(&answer)))
        .await
        .json();
    assert_eq!(session["user"]["email"], email);
    assert_eq!(session["user"]["emailVerified"], true);
}

#[tokio::test]
async fn an_expired_link_says_so() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    app.post(
        "/send-verification-email",
        json!({"email": user.email}),
        Some(&user.cookie),
    )
    .await;
    let mail = app.mail("verify-email", &user.email).await;
    app.advance(chrono::Duration::hours(2));
    let token = mail["token"].as_str().unwrap();
    let answer = app.get(&format!("/verify-email?token={token}"), None).await;
    assert_eq!(
        (answer.status, answer.code()),
        (401, "TOKEN_EXPIRED".to_owned())
    );
}

#[tokio::test]
async fn a_password_reset_link_works_once() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    for email in [user.email.as_str(), "nobody@example.com"] {
        let started = std::time::Instant::now();
        let answer = app
            .post(
                "/request-password-reset",
                json!({"email": email, "redirectTo": "/reset"}),
                None,
            )
            .await;
        assert_eq!(
            answer.json(),
            json!({"status": true, "message": "If this email exists in our system, check your email for the reset link"})
        );
        assert!(started.elapsed() >= std::time::Duration::from_millis(500));
    }
    let mail = app.mail("reset-password", &user.email).await;
    let url = mail["url"].as_str().unwrap();
    let token = mail["token"].as_str().unwrap();
    let base = app.auth.config().base_url.clone();
    assert_eq!(
        url,
        format!("{base}/api/auth/reset-password/{token}?callbackURL=%2Freset")
    );

    // The link lands on the app with the token.
    let answer = app.get(&app.link_path(url), None).await;
    assert_eq!(answer.status, 302);
    assert_eq!(
        answer.header("location").unwrap(),
        format!("{base}/reset?token={token}")
    );

    let answer = app
        .post(
            "/reset-password",
            json!({"newPassword": "short", "token": token}),
            None,
        )
        .await;
    assert_eq!(answer.code(), "PASSWORD_TOO_SHORT");
    let answer = app
        .post(
            "/reset-password",
            json!({"newPassword": "a-brand-new-password", "token": token}),
            None,
        )
        .await;
    assert_eq!(answer.json(), json!({"status": true}), "{}", answer.text);
    assert_eq!(
        app.post(
            "/sign-in/email",
            json!({"email": user.email, "password": PASSWORD}),
            None
        )
        .await
        .status,
        401
    );
    assert_eq!(
        app.post(
            "/sign-in/email",
            json!({"email": user.email, "password": "a-brand-new-password"}),
            None
        )
        .await
        .status,
        200
    );
    // Sessions survive unless configured otherwise.
    assert_ne!(
        app.get("/get-session", Some(&user.cookie)).await.text,
        "null"
    );

    let answer = app
        .post(
            "/reset-password",
            json!({"newPassword": "another-password", "token": token}),
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "INVALID_TOKEN".to_owned())
    );
    let answer = app.get(&app.link_path(url), None).await;
    assert_eq!(
        answer.header("location").unwrap(),
        format!("{base}/reset?error=INVALID_TOKEN")
    );
    let types: Vec<String> = app
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    let consumed_with_reset = types
        .windows(2)
        .filter(|pair| pair == &["verification.consumed", "account.password_reset"])
        .count();
    assert_eq!(
        consumed_with_reset, 1,
        "one reset, committed with its token's consumption: {types:?}"
    );
}

#[tokio::test]
async fn a_reset_can_end_every_session() {
    let app = spawn_app_with(|s| s.mail.revoke_sessions_on_password_reset = true).await;
    let user = app.sign_up().await;
    app.post(
        "/request-password-reset",
        json!({"email": user.email}),
        None,
    )
    .await;
    let token = app.mail("reset-password", &user.email).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = app
        .post(
            &format!("/reset-password?token={token}"),
            json!({"newPassword": "a-brand-new-password"}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        app.get("/get-session", Some(&user.cookie)).await.text,
        "null"
    );
}

/// A reset token redeemed 20 times at once succeeds exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_redemptions_of_one_reset_token_succeed_once() {
    let app = Arc::new(spawn_app().await);
    let user = app.sign_up().await;
    app.post(
        "/request-password-reset",
        json!({"email": user.email}),
        None,
    )
    .await;
    let token = app.mail("reset-password", &user.email).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                app.post(
                    "/reset-password",
                    json!({"newPassword": format!("parallel-password-{i}"), "token": token}),
                    None,
                )
                .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, attempt) in attempts.into_iter().enumerate() {
        let answer = attempt.await.unwrap();
        match answer.status {
            200 => winners.push(i),
            400 => assert_eq!(answer.code(), "INVALID_TOKEN"),
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let password = format!("parallel-password-{}", winners[0]);
    assert_eq!(
        app.post(
            "/sign-in/email",
            json!({"email": user.email, "password": password}),
            None
        )
        .await
        .status,
        200
    );
    let events = app.events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "verification.consumed")
            .count(),
        1
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "account.password_reset")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_verified_user_confirms_an_email_change_from_the_old_address_first() {
    let app = spawn_app_with(|s| {
        s.mail.change_email.enabled = true;
        s.mail.change_email.send_change_email_confirmation = true;
    })
    .await;
    let user = app.sign_up().await;
    app.post(
        "/send-verification-email",
        json!({"email": user.email}),
        Some(&user.cookie),
    )
    .await;
    let verify = app.mail("verify-email", &user.email).await;
    app.get(&app.link_path(verify["url"].as_str().unwrap()), None)
        .await;

    let new_email = format!("moved-{}", user.email);
    let answer = app
        .post(
            "/change-email",
            json!({"newEmail": new_email, "callbackURL": "/settings"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.json(), json!({"status": true}), "{}", answer.text);
    let confirmation = app.mail("change-email-confirmation", &user.email).await;

    // Someone else's session cannot use the confirmation.
    let mallory = app.sign_up().await;
    let answer = app
        .get(
            &format!(
                "/verify-email?token={}",
                confirmation["token"].as_str().unwrap()
            ),
            Some(&mallory.cookie),
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (401, "INVALID_USER".to_owned())
    );

    let answer = app
        .get(
            &app.link_path(confirmation["url"].as_str().unwrap()),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.header("location"), Some("/settings"));
    let verification = app.mail("verify-email", &new_email).await;
    let token = verification["token"].as_str().unwrap();
    let answer = app
        .get(&format!("/verify-email?token={token}"), Some(&user.cookie))
        .await;
    let body = answer.json();
    assert_eq!(body["status"], true, "{}", answer.text);
    assert_eq!(body["user"]["email"], new_email.as_str());
    assert_eq!(body["user"]["emailVerified"], true);
    let session = app.get("/get-session", Some(&user.cookie)).await.json();
    assert_eq!(session["user"]["email"], new_email.as_str());
    // The old address is free again, the new one taken.
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "B", "email": user.email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "C", "email": new_email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 422);
}

#[tokio::test]
async fn an_unverified_user_can_change_email_at_once_when_allowed() {
    let app = spawn_app_with(|s| {
        s.mail.change_email.enabled = true;
        s.mail.change_email.update_email_without_verification = true;
    })
    .await;
    let user = app.sign_up().await;
    let other = app.sign_up().await;
    // An address in use gets the same answer and changes nothing.
    let answer = app
        .post(
            "/change-email",
            json!({"newEmail": other.email}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.json(), json!({"status": true}));
    let answer = app
        .post(
            "/change-email",
            json!({"newEmail": user.email}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.json(), json!({"message": "Email is the same"}));

    let answer = app
        .post(
            "/change-email",
            json!({"newEmail": "fresh@example.com"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(answer.json(), json!({"status": true}));
    assert_eq!(answer.set_cookies().len(), 1);
    let session = app.get("/get-session", Some(&user.cookie)).await.json();
    assert_eq!(session["user"]["email"], "fresh@example.com");
    assert_eq!(session["user"]["emailVerified"], false);
    app.mail("verify-email", "fresh@example.com").await;
}

#[tokio::test]
async fn change_email_is_off_by_default() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/change-email",
            json!({"newEmail": "x@example.com"}),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(
        answer.json(),
        json!({"message": "Change email is disabled", "code": "CHANGE_EMAIL_DISABLED"})
    );
}
