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

    /// The three lines Better Auth sends to end a session in the browser.
    pub fn clear_session(&self) -> Vec<String> {
        vec![
            self.expire(&self.session_token),
            self.expire(&self.session_data),
            self.expire(&self.dont_remember),
        ]
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
        assert_eq!(
            names.clear_session()[0],
            "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        );
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
