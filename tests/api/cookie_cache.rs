//! The `session_data` cookie cache: what each strategy issues, what a hit answers, which
//! cookies are refused (and re-issued), chunking, and a `cookieCache.version` bump.

use authlog::Settings;
use authlog_api::config::CookieCacheStrategy;
use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::{cookie_header, spawn_app_with, Answer, TestApp, PASSWORD};

pub(crate) const STRATEGIES: [CookieCacheStrategy; 3] = [
    CookieCacheStrategy::Compact,
    CookieCacheStrategy::Jwt,
    CookieCacheStrategy::Jwe,
];

const SESSION_DATA_DELETION: &str =
    "better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax";

pub(crate) fn turn_on(strategy: CookieCacheStrategy) -> impl FnOnce(&mut Settings) {
    move |settings: &mut Settings| {
        let cookie_cache = &mut settings.session.cookie_cache;
        cookie_cache.enabled = true;
        cookie_cache.strategy = strategy;
    }
}

pub(crate) async fn spawn_with_cookie_cache(strategy: CookieCacheStrategy) -> TestApp {
    spawn_app_with(turn_on(strategy)).await
}

/// The `session_data` lines of an answer (the whole cookie or its chunks).
pub(crate) fn session_data_lines(answer: &Answer) -> Vec<String> {
    answer
        .set_cookies()
        .into_iter()
        .filter(|line| line.starts_with("better-auth.session_data"))
        .collect()
}

fn keys(object: &Value) -> Vec<&str> {
    object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// `cookie` with the value of its `session_data` cookie replaced by `value`.
fn with_session_data(cookie: &str, value: &str) -> String {
    cookie
        .split("; ")
        .map(|pair| match pair.split_once('=') {
            Some(("better-auth.session_data", _)) => format!("better-auth.session_data={value}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn session_data_value(cookie: &str) -> &str {
    cookie
        .split("; ")
        .find_map(|pair| pair.strip_prefix("better-auth.session_data="))
        .expect("a session_data cookie")
}

#[tokio::test]
async fn each_strategy_issues_a_cookie_that_answers_get_session_alone() {
    for strategy in STRATEGIES {
        let app = spawn_with_cookie_cache(strategy).await;
        let user = app.sign_up().await;
        assert!(
            user.cookie.contains("better-auth.session_data="),
            "{strategy}"
        );

        let hit = app.get("/get-session", Some(&user.cookie)).await;
        assert_eq!(hit.status, 200);
        assert!(
            hit.set_cookies().is_empty(),
            "a hit sets nothing ({strategy})"
        );
        let body = hit.json();
        // Better Auth answers a hit with its schema's field order.
        assert_eq!(
            keys(&body["session"]),
            [
                "id",
                "createdAt",
                "updatedAt",
                "userId",
                "expiresAt",
                "token",
                "ipAddress",
                "userAgent"
            ]
        );
        assert_eq!(
            keys(&body["user"]),
            [
                "id",
                "createdAt",
                "updatedAt",
                "email",
                "emailVerified",
                "name",
                "image"
            ]
        );
        assert_eq!(body["session"]["token"], user.token.as_str());

        // The store's answer holds the same values, and re-issues the cookie.
        let stored = app
            .get("/get-session?disableCookieCache=true", Some(&user.cookie))
            .await;
        assert_eq!(stored.json(), body, "{strategy}");
        let reissued = session_data_lines(&stored);
        assert_eq!(reissued.len(), 1);
        assert!(reissued[0].ends_with("; Max-Age=300; Path=/; HttpOnly; SameSite=Lax"));
    }
}

#[tokio::test]
async fn a_hit_reads_nothing_while_disable_cookie_cache_reads_the_store() {
    let app = spawn_app_with(|settings| {
        turn_on(CookieCacheStrategy::Compact)(settings);
        // Without the in-process cache, a request that skips the cookie reads the table.
        settings.session.cache_ttl = std::time::Duration::ZERO;
    })
    .await;
    let user = app.sign_up().await;
    // Change the row behind the server's back: no event, so nothing is evicted or noted.
    let mut tx = app.auth.store().db().begin().await.unwrap();
    authlog_eventstore::with_tx!(&mut tx, |conn| {
        sqlx::query("UPDATE users SET name = 'Behind the back' WHERE id = $1")
            .bind(&user.id)
            .execute(&mut *conn)
            .await
            .unwrap();
    });
    tx.commit().await.unwrap();

    // The cookie still says what it said when issued: nothing was read.
    let hit = app.get("/get-session", Some(&user.cookie)).await;
    assert_eq!(hit.json()["user"]["name"], "Test User");
    assert!(hit.set_cookies().is_empty());
    // Asked to skip the cache, the server reads the store and re-issues the cookie.
    let stored = app
        .get("/get-session?disableCookieCache=1", Some(&user.cookie))
        .await;
    assert_eq!(stored.json()["user"]["name"], "Behind the back");
    let refreshed = cookie_header(&stored);
    let cookie = with_session_data(&user.cookie, session_data_value(&refreshed));
    let hit = app.get("/get-session", Some(&cookie)).await;
    assert_eq!(hit.json()["user"]["name"], "Behind the back");
    assert!(hit.set_cookies().is_empty());
}

#[tokio::test]
async fn a_profile_change_outdates_cookies_on_other_devices() {
    let app = spawn_with_cookie_cache(CookieCacheStrategy::Compact).await;
    let first = app.sign_up().await;
    let second = app.sign_in(&first.email).await;
    let renamed = app
        .post(
            "/update-user",
            json!({"name": "Renamed"}),
            Some(&second.cookie),
        )
        .await;
    assert_eq!(renamed.status, 200);
    // Better Auth would answer "Test User" from the first device's cookie until it expires.
    let answer = app.get("/get-session", Some(&first.cookie)).await;
    assert_eq!(answer.json()["user"]["name"], "Renamed");
    // Expired and issued anew, as for any refused cookie.
    let lines = session_data_lines(&answer);
    assert_eq!(lines[0], SESSION_DATA_DELETION);
    assert_eq!(lines.len(), 2);
}

#[tokio::test]
async fn tampered_expired_and_foreign_cookies_are_refused_and_reissued() {
    for strategy in STRATEGIES {
        let app = spawn_with_cookie_cache(strategy).await;
        let user = app.sign_up().await;
        let other = app.sign_up().await;
        let value = session_data_value(&user.cookie);
        let middle = value.len() / 2;
        let flipped = if &value[middle..=middle] == "A" {
            "B"
        } else {
            "A"
        };
        let tampered = format!("{}{flipped}{}", &value[..middle], &value[middle + 1..]);
        let foreign = session_data_value(&other.cookie);
        for bad in [tampered.as_str(), foreign] {
            let answer = app
                .get("/get-session", Some(&with_session_data(&user.cookie, bad)))
                .await;
            // Answered from the store, for the signed token's session, with a new cookie.
            assert_eq!(answer.json()["user"]["id"], user.id.as_str(), "{strategy}");
            let lines = session_data_lines(&answer);
            assert_eq!(lines[0], SESSION_DATA_DELETION);
            assert!(lines[1].starts_with("better-auth.session_data=e"));
            assert_eq!(lines.len(), 2);
        }
        // Past maxAge the cookie no longer answers, though the session lives on.
        app.advance(Duration::seconds(301));
        let answer = app.get("/get-session", Some(&user.cookie)).await;
        assert_eq!(answer.json()["session"]["token"], user.token.as_str());
        assert_eq!(session_data_lines(&answer)[0], SESSION_DATA_DELETION);
        assert_eq!(session_data_lines(&answer).len(), 2);
    }
}

#[tokio::test]
async fn large_sessions_travel_in_chunks() {
    let app = spawn_with_cookie_cache(CookieCacheStrategy::Jwe).await;
    let name = "n".repeat(6000);
    let email = format!("big-{}@example.com", uuid::Uuid::new_v4().simple());
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": name, "email": email, "password": PASSWORD}),
            None,
        )
        .await;
    let lines = session_data_lines(&answer);
    let names: Vec<&str> = lines.iter().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "better-auth.session_data.0",
            "better-auth.session_data.1",
            "better-auth.session_data.2"
        ]
    );
    assert!(lines.iter().all(|line| line.len() <= 4050));
    let cookie = cookie_header(&answer);
    let hit = app.get("/get-session", Some(&cookie)).await;
    assert!(hit.set_cookies().is_empty(), "the joined chunks are a hit");
    assert_eq!(hit.json()["user"]["name"], name.as_str());
    // Signing out expires every chunk the browser holds.
    let out = app.post("/sign-out", json!({}), Some(&cookie)).await;
    for chunk in ["0", "1", "2"] {
        let deletion =
            format!("better-auth.session_data.{chunk}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
        assert!(out.set_cookies().contains(&deletion), "{chunk}");
    }
}

#[tokio::test]
async fn a_version_bump_refuses_old_cookies_and_keeps_the_sessions() {
    let v1 = spawn_with_cookie_cache(CookieCacheStrategy::Compact).await;
    let user = v1.sign_up().await;
    assert!(v1
        .get("/get-session", Some(&user.cookie))
        .await
        .set_cookies()
        .is_empty());

    // The same deployment restarted with `cookie_cache.version = "2"`.
    let v2 = v1
        .spawn_sibling(|settings| settings.session.cookie_cache.version = "2".to_owned())
        .await;
    let answer = v2.get("/get-session", Some(&user.cookie)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json()["session"]["token"],
        user.token.as_str(),
        "still signed in"
    );
    let lines = session_data_lines(&answer);
    assert_eq!(lines[0], SESSION_DATA_DELETION);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let renewed = with_session_data(&user.cookie, session_data_value(&cookie_header(&answer)));
    let hit = v2.get("/get-session", Some(&renewed)).await;
    assert!(
        hit.set_cookies().is_empty(),
        "the re-issued cookie is a hit"
    );
    assert_eq!(hit.json()["user"]["id"], user.id.as_str());
    // And a version-2 cookie means nothing to a version-1 server.
    let back = v1.get("/get-session", Some(&renewed)).await;
    assert_eq!(session_data_lines(&back)[0], SESSION_DATA_DELETION);
}

#[tokio::test]
async fn remember_me_false_gets_a_browser_session_cache_cookie() {
    let app = spawn_with_cookie_cache(CookieCacheStrategy::Jwt).await;
    let user = app.sign_up().await;
    let answer = app
        .post(
            "/sign-in/email",
            json!({"email": user.email, "password": PASSWORD, "rememberMe": false}),
            None,
        )
        .await;
    let lines = session_data_lines(&answer);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].ends_with("; Path=/; HttpOnly; SameSite=Lax"));
    assert!(!lines[0].contains("Max-Age"), "{}", lines[0]);
    // Better Auth puts the cache after the token and dont_remember cookies.
    let order: Vec<String> = answer
        .set_cookies()
        .iter()
        .map(|l| l.split('=').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        order,
        [
            "better-auth.session_token",
            "better-auth.dont_remember",
            "better-auth.session_data"
        ]
    );
}

#[tokio::test]
async fn with_the_cache_off_nothing_is_issued_and_strays_are_expired() {
    let app = spawn_app_with(|_| {}).await;
    let user = app.sign_up().await;
    assert!(!user.cookie.contains("session_data"));
    let cookie = format!("{}; better-auth.session_data=eyJmb28iOjF9", user.cookie);
    let answer = app.get("/get-session", Some(&cookie)).await;
    assert_eq!(answer.json()["session"]["token"], user.token.as_str());
    assert_eq!(answer.set_cookies(), [SESSION_DATA_DELETION]);
}
