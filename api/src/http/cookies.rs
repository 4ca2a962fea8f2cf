//! Cookies as Better Auth names, signs and writes them (contract section 3).

use axum::http::HeaderMap;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::AuthConfig;
use crate::crypto::signing::CookieSigner;

/// What JavaScript's `encodeURIComponent` leaves alone: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The full names of the session cookies and the attributes they are written with.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub session_token: String,
    pub session_data: String,
    pub dont_remember: String,
    /// `; Path=/; HttpOnly[; Secure]; SameSite=Lax`
    attributes: String,
}

impl CookieNames {
    pub fn new(config: &AuthConfig) -> Self {
        let secure = config.secure_cookies();
        let prefix = if secure { "__Secure-" } else { "" };
        let name = |suffix: &str| format!("{prefix}{}.{suffix}", config.cookie_prefix);
        Self {
            session_token: name("session_token"),
            session_data: name("session_data"),
            dont_remember: name("dont_remember"),
            attributes: format!(
                "; Path=/; HttpOnly{}; SameSite=Lax",
                if secure { "; Secure" } else { "" }
            ),
        }
    }

    /// `name=value[; Max-Age=N]; Path=/; HttpOnly; SameSite=Lax`
    pub fn set(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let value = utf8_percent_encode(value, URI_COMPONENT);
        match max_age {
            Some(seconds) => format!("{name}={value}; Max-Age={seconds}{}", self.attributes),
            None => format!("{name}={value}{}", self.attributes),
        }
    }

    /// `name=; Max-Age=0; ...`
    pub fn expire(&self, name: &str) -> String {
        format!("{name}=; Max-Age=0{}", self.attributes)
    }

    /// The cookies of a new or re-sent session: the signed token, valid for the session's
    /// lifetime, or a browser-session cookie plus `dont_remember` when "remember me" is off.
    pub fn session(
        &self,
        signer: &CookieSigner,
        token: &str,
        dont_remember: bool,
        max_age: u64,
    ) -> Vec<String> {
        let signed = signer.sign(token);
        if dont_remember {
            vec![
                self.set(&self.session_token, &signed, None),
                self.set(&self.dont_remember, &signer.sign("true"), None),
            ]
        } else {
            vec![self.set(&self.session_token, &signed, Some(max_age))]
        }
    }

    /// Expires `name` the way better-call's `expireCookie` does: any line already pending
    /// for that cookie (or one of its chunks) is dropped first, so a value set earlier in
    /// the same response never reaches the wire.
    pub fn expire_pending(&self, cookies: &mut SetCookies, name: &str) {
        cookies.forget(name);
        cookies.push(self.expire(name));
    }

    /// Ends the session in the browser as Better Auth's `deleteSessionCookie` does: the
    /// token, the cookie cache, every `session_data` cookie or chunk the request carried,
    /// and `dont_remember`. Without chunks these are the three lines Better Auth always sends.
    pub fn clear_session(&self, cookies: &mut SetCookies, request: &HeaderMap) {
        self.expire_pending(cookies, &self.session_token);
        self.expire_pending(cookies, &self.session_data);
        for name in self.session_data_cookies(request) {
            cookies.push(self.expire(name));
        }
        self.expire_pending(cookies, &self.dont_remember);
    }

    /// The names of the `session_data` cookie and its chunks (`session_data.N`) present in
    /// the request, once each, in the order they appear.
    pub fn session_data_cookies<'a>(&self, request: &'a HeaderMap) -> Vec<&'a str> {
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in cookies(request) {
            let is_cache_cookie =
                name == self.session_data || chunk_index(&self.session_data, name).is_some();
            if is_cache_cookie && !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The cookie-cache value the request carries, as Better Auth's `getChunkedCookie` reads
    /// it: the whole cookie if it is there and non-empty, else its chunks joined in index
    /// order.
    pub fn session_data_value(&self, request: &HeaderMap) -> Option<String> {
        if let Some(whole) = get(request, &self.session_data).filter(|v| !v.is_empty()) {
            return Some(whole);
        }
        let mut chunks: Vec<(u32, String)> = cookies(request)
            .filter_map(|(name, value)| {
                chunk_index(&self.session_data, name).map(|index| (index, decode(value)))
            })
            .collect();
        if chunks.is_empty() {
            return None;
        }
        chunks.sort_by_key(|(index, _)| *index);
        Some(chunks.into_iter().map(|(_, value)| value).collect())
    }
}

/// `N` for a cookie called `base.N`, when `N` is written the canonical way (`0`, `1`, ...,
/// no sign or leading zero), as Better Auth's `parseCookieChunkIndex` requires.
pub fn chunk_index(base: &str, name: &str) -> Option<u32> {
    let suffix = name.strip_prefix(base)?.strip_prefix('.')?;
    let index: u32 = suffix.parse().ok()?;
    (index.to_string() == suffix).then_some(index)
}

/// The Set-Cookie lines of one response, in the order they will be sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetCookies {
    lines: Vec<String>,
}

impl SetCookies {
    pub fn push(&mut self, line: String) {
        self.lines.push(line);
    }

    /// Drops the pending lines of cookie `name` and of its chunks `name.N`.
    fn forget(&mut self, name: &str) {
        let exact = format!("{name}=");
        let chunk = format!("{name}.");
        self.lines
            .retain(|line| !line.starts_with(&exact) && !line.starts_with(&chunk));
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }
}

impl Extend<String> for SetCookies {
    fn extend<T: IntoIterator<Item = String>>(&mut self, lines: T) {
        self.lines.extend(lines);
    }
}

impl IntoIterator for SetCookies {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;

    fn into_iter(self) -> Self::IntoIter {
        self.lines.into_iter()
    }
}

/// The value of the first cookie called `name` in the Cookie header(s), URI-decoded.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers)
        .find(|(key, _)| *key == name)
        .map(|(_, value)| decode(value))
}

/// Every `(name, raw value)` pair of the Cookie header(s).
pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            Some((name.trim(), value.trim()))
        })
}

fn decode(value: &str) -> String {
    // Most values (tokens, base64url cookie caches) hold no escape: skip the byte-by-byte
    // decoder, which showed in get-session's profile.
    if !value.contains('%') {
        return value.to_owned();
    }
    match percent_decode_str(value).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(_) => value.to_owned(),
    }
}

/// What the request's session cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCookie {
    /// No cookie, or one whose signature does not hold: the caller is anonymous and nothing
    /// is cleared.
    Absent,
    /// A correctly signed token (it may still name a dead session).
    Signed(String),
}

impl SessionCookie {
    pub fn read(headers: &HeaderMap, names: &CookieNames, signer: &CookieSigner) -> Self {
        match get(headers, &names.session_token) {
            Some(raw) => match signer.verify(&raw) {
                Some(token) => Self::Signed(token.to_owned()),
                None => Self::Absent,
            },
            None => Self::Absent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_lines_match_better_auth() {
        let config = AuthConfig::new(
            "http://127.0.0.1:3000",
            "a-very-long-secret-value-for-testing-1234567890abcdef",
        );
        let names = CookieNames::new(&config);
        let signer = CookieSigner::new(&config.secret);
        assert_eq!(
            names.session(&signer, "Vqa2CY5iLMU7xQUxFeaG61zDcoWz1ZA8", false, 604800),
            vec!["better-auth.session_token=Vqa2CY5iLMU7xQUxFeaG61zDcoWz1ZA8.Ct1WPY9EMv7MNHd0%2FBayROAhdsX3%2FQMwUs%2FsfyqMni0%3D; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"]
        );
        let mut cleared = SetCookies::default();
        names.clear_session(&mut cleared, &HeaderMap::new());
        assert_eq!(
            cleared.lines(),
            [
                "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
                "better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
                "better-auth.dont_remember=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
            ]
        );
    }

    /// Observed on Better Auth: a pending `session_data` value is replaced by its deletion,
    /// and every cache cookie the request carried is expired again by name.
    #[test]
    fn clearing_a_session_drops_pending_cache_lines_and_expires_every_chunk() {
        let config = AuthConfig::new("http://127.0.0.1:3000", "s".repeat(32));
        let names = CookieNames::new(&config);
        let mut headers = HeaderMap::new();
        headers.insert(
            "cookie",
            "better-auth.session_data.0=a; better-auth.session_data.01=x; better-auth.session_data.1=b"
                .parse()
                .unwrap(),
        );
        let mut cookies = SetCookies::default();
        cookies.push(names.set("better-auth.session_data", "fresh", Some(300)));
        names.clear_session(&mut cookies, &headers);
        let expired = |name: &str| format!("{name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
        assert_eq!(
            cookies.lines(),
            [
                expired("better-auth.session_token"),
                expired("better-auth.session_data"),
                expired("better-auth.session_data.0"),
                expired("better-auth.session_data.1"),
                expired("better-auth.dont_remember"),
            ]
        );
    }

    #[test]
    fn the_cache_value_is_the_whole_cookie_or_its_chunks_in_order() {
        let config = AuthConfig::new("http://127.0.0.1:3000", "s".repeat(32));
        let names = CookieNames::new(&config);
        let mut headers = HeaderMap::new();
        headers.insert(
            "cookie",
            "better-auth.session_data.1=cd; better-auth.session_data.0=ab; better-auth.session_data.x=zz"
                .parse()
                .unwrap(),
        );
        assert_eq!(names.session_data_value(&headers).as_deref(), Some("abcd"));
        headers.insert(
            "cookie",
            "better-auth.session_data=whole; better-auth.session_data.0=ab"
                .parse()
                .unwrap(),
        );
        assert_eq!(names.session_data_value(&headers).as_deref(), Some("whole"));
        assert_eq!(names.session_data_value(&HeaderMap::new()), None);
    }

    #[test]
    fn https_base_urls_get_secure_prefixed_cookies() {
        let config = AuthConfig::new("https://auth.example.com", "s".repeat(32));
        let names = CookieNames::new(&config);
        assert_eq!(names.session_token, "__Secure-better-auth.session_token");
        assert!(names
            .expire(&names.session_token)
            .ends_with("; Path=/; HttpOnly; Secure; SameSite=Lax"));
    }

    #[test]
    fn the_first_cookie_of_a_name_wins() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "a=1; b=x%2By; a=2".parse().unwrap());
        assert_eq!(get(&headers, "a").as_deref(), Some("1"));
        assert_eq!(get(&headers, "b").as_deref(), Some("x+y"));
        assert_eq!(get(&headers, "c"), None);
    }
}
