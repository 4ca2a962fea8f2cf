use std::time::Duration;

use super::*;

/// The secret, session and user of a `session_data` cookie captured from Better Auth 1.7.25
/// (compact strategy, maxAge 300) right after a sign-up.
const REFERENCE_SECRET: &str = "reference-secret-0123456789abcdef0123456789abcdef";
const REFERENCE_TOKEN: &str = "9We5iHY6xSg2875jiDwroC5ghESc1Vkx";
const REFERENCE_COOKIE: &str = "eyJzZXNzaW9uIjp7InNlc3Npb24iOnsiZXhwaXJlc0F0IjoiMjAyNi0xMi0wN1QwMDo1NzoxNS43MjBaIiwidG9rZW4iOiI5V2U1aUhZNnhTZzI4NzVqaUR3cm9DNWdoRVNjMVZreCIsImNyZWF0ZWRBdCI6IjIwMjYtMTEtMzBUMDA6NTc6MTUuNzIwWiIsInVwZGF0ZWRBdCI6IjIwMjYtMTEtMzBUMDA6NTc6MTUuNzIwWiIsImlwQWRkcmVzcyI6IiIsInVzZXJBZ2VudCI6ImN1cmwvNy44OC4xIiwidXNlcklkIjoiYkY4ZWppSlJnUmNBbWY2V3NvUHBqUTFGR0pteGc4N0giLCJpZCI6ImphVW1xTm5RRFlBUVBnNWdBeGdxTE8xY2wwZlVkd0NjIn0sInVzZXIiOnsibmFtZSI6IkFkYSIsImVtYWlsIjoiYWRhQGV4YW1wbGUuY29tIiwiZW1haWxWZXJpZmllZCI6ZmFsc2UsImltYWdlIjpudWxsLCJjcmVhdGVkQXQiOiIyMDI2LTExLTMwVDAwOjU3OjE1LjcxOFoiLCJ1cGRhdGVkQXQiOiIyMDI2LTExLTMwVDAwOjU3OjE1LjcxOFoiLCJpZCI6ImJGOGVqaUpSZ1JjQW1mNldzb1BwalExRkdKbXhnODdIIn0sInVwZGF0ZWRBdCI6MTc5NjAwMDIzNTczNSwidmVyc2lvbiI6IjEifSwiZXhwaXJlc0F0IjoxNzk2MDAwNTM1NzM1LCJzaWduYXR1cmUiOiJaTlhqX1BYQV9CeVJCNF94Mjc5SUMyWG1aSHZYczNLcmRucXgzMVMyZkEwIn0";
/// When that cookie was issued (its `updatedAt`).
const REFERENCE_ISSUED_MS: i64 = 1_796_000_235_735;

fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

fn cache(secret: &str, strategy: CookieCacheStrategy, version: &str) -> CookieCache {
    let mut config = AuthConfig::new("http://127.0.0.1:3000", secret);
    config.session.cookie_cache = CookieCacheConfig {
        enabled: true,
        strategy,
        version: version.to_owned(),
        max_age: Duration::from_secs(300),
        ..CookieCacheConfig::default()
    };
    CookieCache::new(&config).unwrap()
}

fn reference_views(name: &str) -> (SessionView, UserView) {
    let session = SessionView {
        expires_at: "2026-12-07T00:57:15.720Z".into(),
        token: REFERENCE_TOKEN.into(),
        created_at: "2026-11-30T00:57:15.720Z".into(),
        updated_at: "2026-11-30T00:57:15.720Z".into(),
        ip_address: String::new(),
        user_agent: "curl/7.88.1".into(),
        user_id: "bF8ejiJRgRcAmf6WsoPpjQ1FGJmxg87H".into(),
        id: "jaUmqNnQDYAQPg5gAxgqLO1cl0fUdwCc".into(),
    };
    let user = UserView {
        name: name.into(),
        email: "ada@example.com".into(),
        email_verified: false,
        image: None,
        created_at: "2026-11-30T00:57:15.718Z".into(),
        updated_at: "2026-11-30T00:57:15.718Z".into(),
        id: "bF8ejiJRgRcAmf6WsoPpjQ1FGJmxg87H".into(),
    };
    (session, user)
}

#[test]
fn compact_cookies_are_byte_identical_to_better_auths() {
    let cache = cache(REFERENCE_SECRET, CookieCacheStrategy::Compact, "1");
    let (session, user) = reference_views("Ada");
    let issued = at_ms(REFERENCE_ISSUED_MS);
    assert_eq!(cache.seal(&session, &user, false, issued), REFERENCE_COOKIE);
    let cached = cache
        .read(REFERENCE_COOKIE, REFERENCE_TOKEN, issued)
        .expect("Better Auth's cookie reads back");
    assert_eq!(cached.cached.user_id(), "bF8ejiJRgRcAmf6WsoPpjQ1FGJmxg87H");
}

#[test]
fn a_value_is_opened_once_and_its_expiry_still_checked_on_each_read() {
    let cache = cache(REFERENCE_SECRET, CookieCacheStrategy::Compact, "1");
    let issued = at_ms(REFERENCE_ISSUED_MS);
    let first = cache
        .read(REFERENCE_COOKIE, REFERENCE_TOKEN, issued)
        .unwrap();
    let again = cache
        .read(REFERENCE_COOKIE, REFERENCE_TOKEN, issued)
        .unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "the second read is the memo's"
    );
    let answer: serde_json::Value = serde_json::from_slice(&again.answer).unwrap();
    assert_eq!(answer, first.cached.answer());
    assert!(cache
        .read(REFERENCE_COOKIE, "another-token", issued)
        .is_none());
    let after = at_ms(REFERENCE_ISSUED_MS + 301_000);
    assert!(cache
        .read(REFERENCE_COOKIE, REFERENCE_TOKEN, after)
        .is_none());
}

/// The memo finds values by length and tail; a value sharing both with a stored one but not
/// its head is opened on its own (and here refused: its seal does not hold).
#[test]
fn a_look_alike_value_is_not_served_from_the_memo() {
    let cache = cache(REFERENCE_SECRET, CookieCacheStrategy::Compact, "1");
    let issued = at_ms(REFERENCE_ISSUED_MS);
    assert!(cache
        .read(REFERENCE_COOKIE, REFERENCE_TOKEN, issued)
        .is_some());
    let look_alike = format!("X{}", &REFERENCE_COOKIE[1..]);
    assert_eq!(look_alike.len(), REFERENCE_COOKIE.len());
    assert!(cache.read(&look_alike, REFERENCE_TOKEN, issued).is_none());
    // The genuine value is still answered from the memo.
    assert!(cache
        .read(REFERENCE_COOKIE, REFERENCE_TOKEN, issued)
        .is_some());
}

#[test]
fn every_strategy_round_trips_and_refuses_what_it_should() {
    let issued = at_ms(REFERENCE_ISSUED_MS);
    for strategy in [
        CookieCacheStrategy::Compact,
        CookieCacheStrategy::Jwt,
        CookieCacheStrategy::Jwe,
    ] {
        let cache = cache(REFERENCE_SECRET, strategy, "1");
        let (session, user) = reference_views("Ada");
        let value = cache.seal(&session, &user, false, issued);
        let opened = cache.read(&value, REFERENCE_TOKEN, issued).unwrap();
        assert_eq!(opened.cached.token(), REFERENCE_TOKEN, "{strategy}");
        assert_eq!(opened.cached.version(), "1");
        // Still good just before maxAge, gone after.
        let later = |secs: i64| at_ms(REFERENCE_ISSUED_MS + secs * 1000);
        assert!(cache.read(&value, REFERENCE_TOKEN, later(299)).is_some());
        assert!(cache.read(&value, REFERENCE_TOKEN, later(301)).is_none());
        // Another token, version or secret: refused.
        assert!(cache.read(&value, "another-token", issued).is_none());
        let bumped = self::cache(REFERENCE_SECRET, strategy, "2");
        assert!(bumped.read(&value, REFERENCE_TOKEN, issued).is_none());
        let other = self::cache("another-secret-another-secret-xxxx", strategy, "1");
        assert!(other.read(&value, REFERENCE_TOKEN, issued).is_none());
        // One flipped character anywhere in the middle breaks the seal.
        let mut tampered = value.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'x' { b'y' } else { b'x' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(cache.read(&tampered, REFERENCE_TOKEN, issued).is_none());
    }
}

#[test]
fn a_remember_me_false_cookie_has_no_max_age_and_better_auths_short_expiry() {
    let (session, user) = reference_views("Ada");
    let issued = at_ms(REFERENCE_ISSUED_MS);
    let later = |secs: i64| at_ms(REFERENCE_ISSUED_MS + secs * 1000);
    let compact = cache(REFERENCE_SECRET, CookieCacheStrategy::Compact, "1");
    assert_eq!(compact.max_age(true), None);
    let value = compact.seal(&session, &user, true, issued);
    assert!(compact.read(&value, REFERENCE_TOKEN, later(59)).is_some());
    assert!(compact.read(&value, REFERENCE_TOKEN, later(61)).is_none());
    let jwt = cache(REFERENCE_SECRET, CookieCacheStrategy::Jwt, "1");
    let value = jwt.seal(&session, &user, true, issued);
    assert!(jwt.read(&value, REFERENCE_TOKEN, later(299)).is_some());
}

#[test]
fn a_session_past_its_expiry_is_not_answered_from_the_cookie() {
    let cache = cache(REFERENCE_SECRET, CookieCacheStrategy::Compact, "1");
    let (mut session, user) = reference_views("Ada");
    session.expires_at = "2026-11-30T00:58:00.000Z".into();
    let issued = at_ms(REFERENCE_ISSUED_MS);
    let value = cache.seal(&session, &user, false, issued);
    assert!(cache.read(&value, REFERENCE_TOKEN, issued).is_some());
    let after_the_session = at_ms(REFERENCE_ISSUED_MS + 60_000);
    assert!(cache
        .read(&value, REFERENCE_TOKEN, after_the_session)
        .is_none());
}

/// Better Auth 1.7.25, maxAge 300, a 6000-character name: three chunks, the first two
/// 4049-byte lines, and the last one the rest.
#[test]
fn large_values_are_chunked_as_better_auth_chunks_them() {
    let cache = cache(REFERENCE_SECRET, CookieCacheStrategy::Compact, "1");
    let config = AuthConfig::new("http://127.0.0.1:3000", REFERENCE_SECRET);
    let names = CookieNames::new(&config);
    let (session, user) = reference_views(&"n".repeat(6000));
    let issued = at_ms(REFERENCE_ISSUED_MS);
    let value = cache.seal(&session, &user, false, issued);
    let mut request = HeaderMap::new();
    request.insert(
        "cookie",
        "better-auth.session_data=old; better-auth.session_data.3=old"
            .parse()
            .unwrap(),
    );
    let mut cookies = SetCookies::default();
    cache.issue(&mut cookies, &names, &request, &value, false);
    let lines = cookies.lines();
    let names_sent: Vec<&str> = lines.iter().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        names_sent,
        [
            "better-auth.session_data",
            "better-auth.session_data.3",
            "better-auth.session_data.0",
            "better-auth.session_data.1",
            "better-auth.session_data.2",
        ]
    );
    assert!(lines[0].starts_with("better-auth.session_data=; Max-Age=0"));
    assert!(lines[1].starts_with("better-auth.session_data.3=; Max-Age=0"));
    assert_eq!(lines[2].len(), 4049);
    assert_eq!(lines[3].len(), 4049);
    assert!(lines[2].ends_with("; Max-Age=300; Path=/; HttpOnly; SameSite=Lax"));
    // A browser sends the chunks back; joined, they read as the whole value.
    let sent_back: Vec<String> = lines[2..]
        .iter()
        .map(|l| l.split(';').next().unwrap().to_owned())
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert("cookie", sent_back.join("; ").parse().unwrap());
    let joined = names.session_data_value(&headers).unwrap();
    assert_eq!(joined, value);
    assert!(cache.read(&joined, REFERENCE_TOKEN, issued).is_some());
}

#[test]
fn a_small_value_replaces_the_whole_cookie_in_place() {
    let cache = cache(REFERENCE_SECRET, CookieCacheStrategy::Compact, "1");
    let config = AuthConfig::new("http://127.0.0.1:3000", REFERENCE_SECRET);
    let names = CookieNames::new(&config);
    let mut request = HeaderMap::new();
    request.insert(
        "cookie",
        "better-auth.session_data=old; better-auth.session_data.0=old"
            .parse()
            .unwrap(),
    );
    let mut cookies = SetCookies::default();
    cache.issue(&mut cookies, &names, &request, "new", false);
    // Observed on Better Auth with the same request cookies.
    assert_eq!(
        cookies.lines(),
        [
            "better-auth.session_data=new; Max-Age=300; Path=/; HttpOnly; SameSite=Lax",
            "better-auth.session_data.0=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
        ]
    );
}
