//! The revocation set: a session that ended is refused on the cookie-cache path at once,
//! though its `session_data` cookie has not expired (Better Auth keeps answering from such a
//! cookie until it does), on this instance and, once the events reach it, on the others.
//! Also the Set-Cookie lines of the session-protected endpoints with the cache on.

use authlog_api::config::CookieCacheStrategy;
use serde_json::json;

use crate::cookie_cache::{session_data_lines, spawn_with_cookie_cache, STRATEGIES};

const CLEARED: [&str; 3] = [
    "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
    "better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
    "better-auth.dont_remember=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
];

#[tokio::test]
async fn a_session_ended_here_is_refused_at_once_despite_its_cache_cookie() {
    for strategy in STRATEGIES {
        let app = spawn_with_cookie_cache(strategy).await;
        // Two copies of one browser's cookies: one signs out, the other is replayed.
        let user = app.sign_up().await;
        let stolen = user.cookie.clone();
        let out = app.post("/sign-out", json!({}), Some(&user.cookie)).await;
        assert_eq!(out.status, 200);
        let replay = app.get("/get-session", Some(&stolen)).await;
        assert_eq!(replay.text, "null", "{strategy}");
        // Better Auth's deletion lines, the cache cookie the request carried expired twice
        // (once by its name, once as one of the request's cache cookies).
        assert_eq!(
            replay.set_cookies(),
            [CLEARED[0], CLEARED[1], CLEARED[1], CLEARED[2]]
        );

        // Revoked from another session of the same user.
        let victim = app.sign_up().await;
        let owner = app.sign_in(&victim.email).await;
        let revoked = app
            .post("/revoke-other-sessions", json!({}), Some(&owner.cookie))
            .await;
        assert_eq!(revoked.status, 200);
        let replay = app.get("/get-session", Some(&victim.cookie)).await;
        assert_eq!(replay.text, "null", "{strategy}");
        // The owner's own cookie still answers alone.
        let owner_hit = app.get("/get-session", Some(&owner.cookie)).await;
        assert!(owner_hit.set_cookies().is_empty());
        assert_eq!(owner_hit.json()["session"]["token"], owner.token.as_str());
    }
}

#[tokio::test]
async fn a_deleted_users_cache_cookies_are_refused() {
    let app = spawn_with_cookie_cache(CookieCacheStrategy::Compact).await;
    let user = app.sign_up().await;
    let elsewhere = app.sign_in(&user.email).await;
    let deleted = app
        .post(
            "/delete-user",
            json!({ "password": crate::helpers::PASSWORD }),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let replay = app.get("/get-session", Some(&elsewhere.cookie)).await;
    assert_eq!(replay.text, "null");
}

#[tokio::test]
async fn another_instance_refuses_the_cookie_once_the_events_reach_it() {
    let a = spawn_with_cookie_cache(CookieCacheStrategy::Jwe).await;
    let b = a.spawn_sibling(|_| {}).await;
    let user = a.sign_up().await;
    let before = a.events().await.len();
    assert!(b
        .get("/get-session", Some(&user.cookie))
        .await
        .set_cookies()
        .is_empty());

    let out = a.post("/sign-out", json!({}), Some(&user.cookie)).await;
    assert_eq!(out.status, 200);
    // Until B hears of it, B answers from the cookie, as Better Auth would: the cookie
    // carries everything and B reads nothing.
    let stale = b.get("/get-session", Some(&user.cookie)).await;
    assert_eq!(stale.json()["session"]["token"], user.token.as_str());

    // What the event fan-out does with A's commits when they reach B.
    let committed = a.events().await;
    b.auth.note_remote_events(&committed[before..]);
    let refused = b.get("/get-session", Some(&user.cookie)).await;
    assert_eq!(refused.text, "null");
}

/// The Set-Cookie lines Better Auth 1.7.25 sends with the cookie cache on (observed on the
/// reference server), for the endpoints behind its session middlewares.
#[tokio::test]
async fn session_protected_endpoints_send_better_auths_cookie_lines() {
    let app = spawn_with_cookie_cache(CookieCacheStrategy::Compact).await;
    let user = app.sign_up().await;
    let token_only = user
        .cookie
        .split("; ")
        .find(|pair| pair.starts_with("better-auth.session_token="))
        .unwrap()
        .to_owned();

    // list-accounts trusts a valid cache cookie and sets nothing; without one it reads the
    // store and issues one.
    let hit = app.get("/list-accounts", Some(&user.cookie)).await;
    assert!(hit.set_cookies().is_empty());
    let miss = app.get("/list-accounts", Some(&token_only)).await;
    assert_eq!(session_data_lines(&miss).len(), 1);

    // update-user re-sends the session cookie and a cache cookie with the new name.
    let updated = app
        .post(
            "/update-user",
            json!({"name": "New Name"}),
            Some(&user.cookie),
        )
        .await;
    let names: Vec<String> = updated
        .set_cookies()
        .iter()
        .map(|l| l.split('=').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["better-auth.session_token", "better-auth.session_data"]
    );
    let cookie = crate::helpers::cookie_header(&updated);
    let renamed = app.get("/get-session", Some(&cookie)).await;
    assert!(renamed.set_cookies().is_empty());
    assert_eq!(renamed.json()["user"]["name"], "New Name");

    // revoke-other-sessions reads the store (a sensitive endpoint) and re-issues the cache.
    let others = app
        .post("/revoke-other-sessions", json!({}), Some(&user.cookie))
        .await;
    assert_eq!(session_data_lines(&others).len(), 1);

    // Revoking one's own session: the cache line the lookup produced is replaced by its
    // deletion, and the cache cookie the request carried is expired once more by name.
    let own = app
        .post(
            "/revoke-session",
            json!({ "token": user.token }),
            Some(&user.cookie),
        )
        .await;
    assert_eq!(
        own.set_cookies(),
        [CLEARED[0], CLEARED[1], CLEARED[1], CLEARED[2]]
    );
}
