use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn unknown_routes_wrong_methods_and_trailing_slashes_are_empty_404s() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/definitely-not-an-endpoint"),
        (Method::GET, "/get-session/"),
        (Method::GET, "/sign-out"),
        (Method::POST, "/list-sessions"),
        (Method::HEAD, "/ok"),
    ] {
        let answer = app.request(method.clone(), path, &[], None).await;
        assert_eq!(
            (answer.status, answer.text.as_str()),
            (404, ""),
            "{method} {path}"
        );
        assert!(answer.header("content-type").is_none());
    }
    let answer = app.request(Method::GET, "/../ok", &[], None).await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn ok_and_error_pages() {
    let app = spawn_app().await;
    assert_eq!(app.get("/ok", None).await.json(), json!({"ok": true}));
    let page = app.get("/error?error=access_denied", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html"));
    assert!(page.text.contains("access_denied"));
    let page = app.get("/error?error=%3Cscript%3E", None).await;
    assert!(page.text.contains("UNKNOWN") && !page.text.contains("<script>"));
}

#[tokio::test]
async fn post_get_session_needs_deferred_refresh() {
    let app = spawn_app().await;
    let answer = app.request(Method::POST, "/get-session", &[], None).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.code(), "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED");
    assert_eq!(answer.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn bodies_are_parsed_as_better_call_does() {
    let app = spawn_app().await;
    let post = |content_type: &'static str, body: &'static str| {
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> = if content_type.is_empty() {
                vec![]
            } else {
                vec![("content-type", content_type)]
            };
            app.request(
                Method::POST,
                "/sign-in/email",
                &headers,
                Some(body.to_owned()),
            )
            .await
        }
    };
    let answer = post("application/json", "{not json").await;
    assert_eq!(
        answer.json(),
        json!({"message": "Invalid JSON in request body", "code": "BAD_REQUEST"})
    );
    let answer = post("text/plain;charset=UTF-8", "{}").await;
    assert_eq!(answer.status, 415);
    assert_eq!(
        answer.json()["message"],
        "Content-Type \"text/plain;charset=UTF-8\" is not allowed. Allowed types: application/x-www-form-urlencoded, application/json"
    );
    // A body without a content type is ignored, as better-call does.
    let answer = post("", "{\"email\":\"a@example.com\"}").await;
    assert_eq!(
        answer.json()["message"],
        "[body] Invalid input: expected object, received undefined"
    );
    let answer = post("application/JSON; charset=utf-8", "").await;
    assert_eq!(
        answer.json()["message"],
        "[body] Invalid input: expected object, received undefined"
    );
}

#[tokio::test]
async fn cookie_bearing_posts_need_a_trusted_origin() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let update = |headers: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
            all.extend(headers.iter().map(|(n, v)| (*n, v.as_str())));
            app.request(
                Method::POST,
                "/update-user",
                &all,
                Some(json!({"name": "X"}).to_string()),
            )
            .await
        }
    };
    let cookie = ("cookie", user.cookie.clone());
    let answer = update(vec![cookie.clone()]).await;
    assert_eq!(
        (answer.status, answer.code()),
        (403, "MISSING_OR_NULL_ORIGIN".to_owned())
    );
    let answer = update(vec![cookie.clone(), ("origin", "null".into())]).await;
    assert_eq!(answer.code(), "MISSING_OR_NULL_ORIGIN");
    let answer = update(vec![
        cookie.clone(),
        ("origin", "http://evil.example".into()),
    ])
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (403, "INVALID_ORIGIN".to_owned())
    );
    let answer = update(vec![
        cookie.clone(),
        ("referer", format!("{}/some/page", app.origin)),
    ])
    .await;
    assert_eq!(answer.status, 200, "a trusted Referer stands in for Origin");
    let answer = update(vec![cookie.clone(), ("origin", format!("{}/", app.origin))]).await;
    assert_eq!(answer.status, 200);
    // Another port is another origin.
    let answer = update(vec![cookie, ("origin", "http://127.0.0.1:1".into())]).await;
    assert_eq!(answer.code(), "INVALID_ORIGIN");
}

#[tokio::test]
async fn login_forms_follow_the_fetch_metadata_rules() {
    let app = spawn_app().await;
    let user = app.sign_up().await;
    let body = json!({"email": user.email, "password": PASSWORD}).to_string();
    let sign_in = |headers: Vec<(&'static str, &'static str)>| {
        let (app, body) = (&app, body.clone());
        async move {
            let mut all = vec![("content-type", "application/json")];
            all.extend(headers);
            app.request(Method::POST, "/sign-in/email", &all, Some(body))
                .await
        }
    };
    let answer = sign_in(vec![
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-mode", "navigate"),
    ])
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (403, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED".to_owned())
    );
    let answer = sign_in(vec![("sec-fetch-site", "same-origin")]).await;
    assert_eq!(answer.code(), "MISSING_OR_NULL_ORIGIN");
    let answer = sign_in(vec![("origin", "http://evil.example")]).await;
    assert_eq!(answer.code(), "INVALID_ORIGIN");
    let answer = sign_in(vec![]).await;
    assert_eq!(
        answer.status, 200,
        "a server-to-server call carries no browser headers"
    );
}
