//! Origin and CSRF checks (contract section 9), and callback URL validation.

use axum::http::HeaderMap;

use super::request::ApiRequest;
use crate::config::origin_of;
use crate::error::{AuthError, ErrorCode};

/// The origins allowed to send cookie-bearing requests: exact origins, or patterns with
/// `*` (any run of characters) and `?` (one character).
#[derive(Debug, Clone)]
pub struct TrustedOrigins {
    patterns: Vec<String>,
}

impl TrustedOrigins {
    pub fn new(origins: Vec<String>) -> Self {
        Self {
            patterns: origins
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether the origin of `url` (an origin or any absolute URL) is trusted.
    pub fn contains(&self, url: &str) -> bool {
        let Some(origin) = origin_of(url) else {
            return false;
        };
        let host = origin.split_once("://").map_or("", |(_, host)| host);
        self.patterns.iter().any(|pattern| {
            if pattern.contains("://") {
                glob(pattern, &origin)
            } else {
                glob(pattern, host)
            }
        })
    }

    /// A relative path that stays on this site, or an absolute URL on a trusted origin.
    pub fn allows_callback(&self, url: &str) -> bool {
        if url.starts_with('/') {
            return is_safe_relative(url);
        }
        self.contains(url)
    }
}

fn is_safe_relative(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    !url.starts_with("//")
        && !url.contains('\\')
        && !url.chars().any(char::is_control)
        && !lower.contains("%2f")
        && !lower.contains("%5c")
}

/// `*` matches any run of characters, `?` one character; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Which CSRF rule an endpoint follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Csrf {
    /// Check the origin of non-GET requests that carry cookies.
    Cookies,
    /// The login-form rule of `/sign-in/email` and `/sign-up/email`: also check requests
    /// that look like they come from a browser, and refuse cross-site navigations.
    LoginForm,
}

/// Better Auth's origin check. Runs after body validation, before anything else.
pub fn check(request: &ApiRequest, trusted: &TrustedOrigins, rule: Csrf) -> Result<(), AuthError> {
    let headers = &request.headers;
    if headers.contains_key("cookie") {
        return check_origin(headers, trusted);
    }
    if rule == Csrf::LoginForm {
        let fetch_site = request.header("sec-fetch-site");
        let fetch_mode = request.header("sec-fetch-mode");
        let fetch_dest = request.header("sec-fetch-dest");
        if fetch_site.is_some() || fetch_mode.is_some() || fetch_dest.is_some() {
            if fetch_site == Some("cross-site") && fetch_mode == Some("navigate") {
                return Err(ErrorCode::CROSS_SITE_NAVIGATION_LOGIN_BLOCKED.into());
            }
            return check_origin(headers, trusted);
        }
        if headers.contains_key("origin") || headers.contains_key("referer") {
            return check_origin(headers, trusted);
        }
    }
    Ok(())
}

fn check_origin(headers: &HeaderMap, trusted: &TrustedOrigins) -> Result<(), AuthError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    };
    let origin = match header("origin") {
        Some("null") if header("sec-fetch-site") == Some("same-origin") => return Ok(()),
        Some("null") => None,
        Some(origin) => Some(origin),
        None => header("referer"),
    };
    match origin {
        None => Err(ErrorCode::MISSING_OR_NULL_ORIGIN.into()),
        Some(origin) if trusted.contains(origin) => Ok(()),
        Some(_) => Err(ErrorCode::INVALID_ORIGIN.into()),
    }
}

/// Validates a `callbackURL`-like body value: absent is fine; a non-string is a 400
/// without a code; an untrusted URL is a 403 with `code`.
pub fn check_callback(
    value: Option<&serde_json::Value>,
    label: &str,
    trusted: &TrustedOrigins,
    code: ErrorCode,
) -> Result<Option<String>, AuthError> {
    match value {
        None => Ok(None),
        Some(serde_json::Value::String(url)) if trusted.allows_callback(url) => {
            Ok(Some(url.clone()))
        }
        Some(serde_json::Value::String(_)) => Err(code.into()),
        Some(_) => Err(AuthError::message_only(
            axum::http::StatusCode::BAD_REQUEST,
            format!("Invalid {label}: expected a string"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> TrustedOrigins {
        TrustedOrigins::new(vec![
            "http://127.0.0.1:3000".into(),
            "https://*.example.com".into(),
            "myapp://".into(),
        ])
    }

    #[test]
    fn exact_and_wildcard_origins() {
        let trusted = trusted();
        assert!(trusted.contains("http://127.0.0.1:3000"));
        assert!(trusted.contains("http://127.0.0.1:3000/"));
        assert!(trusted.contains("http://127.0.0.1:3000/some/page?x"));
        assert!(!trusted.contains("http://127.0.0.1:3001"));
        assert!(trusted.contains("https://app.example.com"));
        assert!(!trusted.contains("http://app.example.com"));
        assert!(!trusted.contains("https://example.com.evil.org"));
        assert!(!trusted.contains("garbage"));
    }

    #[test]
    fn callbacks_are_relative_or_trusted() {
        let trusted = trusted();
        assert!(trusted.allows_callback("/dashboard?x=1"));
        assert!(!trusted.allows_callback("//evil.com"));
        assert!(!trusted.allows_callback("/\\evil.com"));
        assert!(!trusted.allows_callback("/%2F%2Fevil.com"));
        assert!(!trusted.allows_callback("https://evil.com"));
        assert!(trusted.allows_callback("http://127.0.0.1:3000/done"));
    }
}
