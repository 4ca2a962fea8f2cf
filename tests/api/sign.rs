use serde_json::json;

use crate::helpers::{cookie_header, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn sign_up_returns_the_user_a_token_and_the_session_cookie() {
    let app = spawn_app().await;
    let answer = app
        .post("/sign-up/email", json!({"name": "Ada", "email": "Ada@Example.com", "password": PASSWORD, "emailVerified": true}), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    let user = &body["user"];
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada");
    assert_eq!(
        user["emailVerified"], false,
        "a client cannot verify itself"
    );
    assert_eq!(user["image"], serde_json::Value::Null);
    assert_eq!(user["createdAt"], user["updatedAt"]);
    let keys: Vec<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "email",
            "emailVerified",
            "image",
            "createdAt",
            "updatedAt",
            "id"
        ]
    );
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    let cookies = answer.set_cookies();
    assert_eq!(cookies.len(), 1);
    let signature = app.auth.signer().sign(token);
    let encoded = signature
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert_eq!(
        cookies[0],
        format!(
            "better-auth.session_token={encoded}; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"
        )
    );
    // The events of one sign-up: the user, the credential account, the session.
    let types: Vec<String> = app
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["user.created", "account.linked", "session.created"]);
}

#[tokio::test]
async fn a_taken_email_is_refused_with_422_whatever_its_case() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "Again", "email": user.email.to_uppercase(), "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.json(),
        json!({"message": "User already exists. Use another email.", "code": "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"})
    );
}

#[tokio::test]
async fn sign_up_validates_like_better_auth() {
    let app = spawn_app().await;
    let cases = [
        (json!({}), 400, "VALIDATION_ERROR", "[body.name] Invalid input: expected string, received undefined; [body.email] Invalid input: expected string, received undefined; [body.password] Invalid input: expected string, received undefined"),
        (json!({"name": "A", "email": "abc", "password": PASSWORD}), 400, "VALIDATION_ERROR", "[body.email] Invalid email address"),
        (json!({"name": "A", "email": " a@example.com", "password": PASSWORD}), 400, "VALIDATION_ERROR", "[body.email] Invalid email address"),
        (json!({"name": "A", "email": "a@example.com", "password": ""}), 400, "VALIDATION_ERROR", "[body.password] Too small: expected string to have >=1 characters"),
        (json!({"name": "A", "email": "a@example.com", "password": "1234567"}), 400, "PASSWORD_TOO_SHORT", "Password too short"),
        (json!({"name": "A", "email": "a@example.com", "password": "x".repeat(129)}), 400, "PASSWORD_TOO_LONG", "Password too long"),
        (json!({"name": "A", "email": "a@example.com", "password": PASSWORD, "rememberMe": "false"}), 400, "VALIDATION_ERROR", "[body.rememberMe] Invalid input: expected boolean, received string"),
        (json!({"name": "A", "email": "a@example.com", "password": PASSWORD, "image": null}), 400, "VALIDATION_ERROR", "[body.image] Invalid input: expected string, received null"),
    ];
    for (body, status, code, message) in cases {
        let answer = app.post("/sign-up/email", body.clone(), None).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
        assert_eq!(
            answer.json(),
            json!({"message": message, "code": code}),
            "{body}"
        );
    }
    // Nothing was written by any of them.
    assert!(app.events().await.is_empty());
    // The boundaries are accepted.
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "A", "email": "b@example.com", "password": "x".repeat(128)}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn html_forms_can_sign_up_and_sign_in() {
    let app = spawn_app().await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let answer = app
        .request(
            reqwest::Method::POST,
            "/sign-up/email",
            &form,
            Some(format!(
                "name=Form+User&email=form%40example.com&password={PASSWORD}"
            )),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["user"]["name"], "Form User");
    let answer = app
        .request(
            reqwest::Method::POST,
            "/sign-in/email",
            &form,
            Some(format!("email=form%40example.com&password={PASSWORD}")),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // Other endpoints take JSON only.
    let user = app.sign_up().await;
    let answer = app
        .request(
            reqwest::Method::POST,
            "/update-user",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &user.cookie),
                ("origin", &app.origin),
            ],
            Some("name=X".into()),
        )
        .await;
    assert_eq!(answer.status, 415);
    assert_eq!(answer.json()["message"], "Content-Type \"application/x-www-form-urlencoded\" is not allowed. Allowed types: application/json");
}

#[tokio::test]
async fn sign_in_refuses_every_wrong_credential_the_same_way_and_records_it() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    for (email, password) in [
        (user.email.as_str(), "wrong-password"),
        ("nobody@example.com", PASSWORD),
        (user.email.as_str(), ""),
    ] {
        let answer = app
            .post(
                "/sign-in/email",
                json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(answer.status, 401, "{email}");
        assert_eq!(
            answer.json(),
            json!({"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"})
        );
        assert!(answer.set_cookies().is_empty());
    }
    // The failures against the existing user are on their stream, with the caller's address.
    let events = app
        .auth
        .store()
        .load_stream("user", &user.id)
        .await
        .unwrap();
    let failures: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "user.sign_in_failed")
        .collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].payload, json!({"reason": "invalid_password"}));

    let answer = app
        .post(
            "/sign-in/email",
            json!({"email": "not-an-email", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "INVALID_EMAIL".to_owned())
    );
    let answer = app
        .post(
            "/sign-in/email",
            json!({"email": user.email, "password": "x".repeat(129)}),
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "PASSWORD_TOO_LONG".to_owned())
    );
}

#[tokio::test]
async fn sign_in_records_the_callers_address_and_agent() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app
        .request(
            reqwest::Method::POST,
            "/sign-in/email",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", "203.0.113.7"),
                ("user-agent", "probe/1"),
            ],
            Some(json!({"email": user.email, "password": PASSWORD}).to_string()),
        )
        .await;
    assert_eq!(answer.status, 200);
    let session = app
        .get("/get-session", Some(&cookie_header(&answer)))
        .await
        .json();
    assert_eq!(session["session"]["ipAddress"], "203.0.113.7");
    assert_eq!(session["session"]["userAgent"], "probe/1");
    let event = app.events().await.into_iter().last().unwrap();
    assert_eq!(event.metadata.ip_address.as_deref(), Some("203.0.113.7"));
    assert_eq!(event.metadata.user_agent.as_deref(), Some("probe/1"));
}

#[tokio::test]
async fn remember_me_off_gives_a_browser_session_cookie_and_a_one_day_session() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/sign-in/email",
            json!({"email": user.email, "password": PASSWORD, "rememberMe": false}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
    let cookies = answer.set_cookies();
    assert_eq!(cookies.len(), 2);
    assert!(cookies[0].starts_with("better-auth.session_token="));
    assert!(!cookies[0].contains("Max-Age"));
    let dont_remember = app
        .auth
        .signer()
        .sign("true")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert_eq!(
        cookies[1],
        format!("better-auth.dont_remember={dont_remember}; Path=/; HttpOnly; SameSite=Lax")
    );
    let session = app
        .get("/get-session", Some(&cookie_header(&answer)))
        .await
        .json();
    let expires =
        chrono::DateTime::parse_from_rfc3339(session["session"]["expiresAt"].as_str().unwrap())
            .unwrap();
    let created =
        chrono::DateTime::parse_from_rfc3339(session["session"]["createdAt"].as_str().unwrap())
            .unwrap();
    assert_eq!(expires - created, chrono::Duration::days(1));
}

#[tokio::test]
async fn a_callback_url_turns_sign_in_into_a_redirect_answer() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/sign-in/email",
            json!({"email": user.email, "password": PASSWORD, "callbackURL": "/dashboard"}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("location"), Some("/dashboard"));
    let body = answer.json();
    assert_eq!(body["redirect"], true);
    assert_eq!(body["url"], "/dashboard");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["redirect", "token", "url", "user"]);

    let answer = app.post("/sign-in/email", json!({"email": user.email, "password": PASSWORD, "callbackURL": "https://evil.example/x"}), None).await;
    assert_eq!(
        (answer.status, answer.code()),
        (403, "INVALID_CALLBACK_URL".to_owned())
    );
    let answer = app
        .post(
            "/sign-in/email",
            json!({"email": user.email, "password": PASSWORD, "callbackURL": 5}),
            None,
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        json!({"message": "Invalid callbackURL: expected a string"})
    );
}

#[tokio::test]
async fn sign_out_ends_the_session_and_clears_the_cookies() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let answer = app.post("/sign-out", json!({}), Some(&user.cookie)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({"success": true}));
    assert_eq!(
        answer.set_cookies(),
        [
            "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
            "better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
            "better-auth.dont_remember=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
        ]
    );
    assert_eq!(
        app.get("/get-session", Some(&user.cookie)).await.text,
        "null"
    );
    let last = app.events().await.into_iter().last().unwrap();
    assert_eq!(last.event_type, "session.revoked");
    assert_eq!(last.payload, json!({"reason": "sign_out"}));
    // Signing out without a session still answers 200.
    let answer = app
        .request(reqwest::Method::POST, "/sign-out", &[], None)
        .await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn sign_up_can_be_switched_off_and_auto_sign_in_too() {
    let app = spawn_app_with(|s| s.disable_sign_up = true).await;
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "A", "email": "a@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "EMAIL_PASSWORD_SIGN_UP_DISABLED".to_owned())
    );

    let app = spawn_app_with(|s| s.auto_sign_in = false).await;
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "A", "email": "a@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["token"], serde_json::Value::Null);
    assert!(answer.set_cookies().is_empty());
}
