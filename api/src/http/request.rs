//! The request as handlers see it, and the caller's context.

use std::net::IpAddr;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::FromRequest;
use axum::http::{HeaderMap, Method, Request};

use crate::auth::RequestContext;

/// Bodies larger than this are refused before parsing.
const MAX_BODY: usize = 1024 * 1024;

/// Method, headers, raw query and body: everything the Better Auth rules look at.
#[derive(Debug)]
pub struct ApiRequest {
    pub method: Method,
    pub headers: HeaderMap,
    pub query: Option<String>,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for ApiRequest {
    type Rejection = axum::response::Response;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let body = to_bytes(body, MAX_BODY).await.map_err(|_| {
            axum::response::IntoResponse::into_response(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
        })?;
        Ok(Self {
            method: parts.method,
            headers: parts.headers,
            query: parts.uri.query().map(str::to_owned),
            body,
        })
    }
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The caller's IP, user agent and request id, as recorded on events and sessions.
    pub fn context(&self) -> RequestContext {
        RequestContext {
            ip_address: client_ip(&self.headers),
            user_agent: self.header("user-agent").unwrap_or_default().to_owned(),
            // The caller's id when a proxy set one, else a fresh one: every event of one
            // request shares it.
            request_id: Some(
                self.header("x-request-id")
                    .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned),
            ),
        }
    }

    /// Query parameters; a repeated key keeps its first value.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        form_pairs(query.as_bytes())
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space).
pub fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    raw.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut split = pair.splitn(2, |&b| b == b'=');
            let key = decode_form(split.next().unwrap_or_default());
            let value = decode_form(split.next().unwrap_or_default());
            (key, value)
        })
        .collect()
}

fn decode_form(raw: &[u8]) -> String {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Better Auth's IP rule: `x-forwarded-for` must hold exactly one valid address (one header
/// line, no comma, no port); IPv4-mapped IPv6 becomes IPv4; other IPv6 is masked to its /64
/// and written in full. Anything else, including no header, gives `""`: the socket peer is
/// never used, since behind a proxy it is the proxy.
pub fn client_ip(headers: &HeaderMap) -> String {
    let mut values = headers.get_all("x-forwarded-for").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return String::new();
    };
    let Ok(ip) = value.to_str().unwrap_or_default().trim().parse::<IpAddr>() else {
        return String::new();
    };
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let segments = v6.segments();
                let masked = [
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ];
                masked
                    .iter()
                    .map(|s| format!("{s:04x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(values: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        client_ip(&headers)
    }

    #[test]
    fn only_a_single_valid_forwarded_address_counts() {
        assert_eq!(ip(&[" 203.0.113.7 "]), "203.0.113.7");
        assert_eq!(ip(&["203.0.113.7, 10.0.0.1"]), "");
        assert_eq!(ip(&["203.0.113.7", "10.0.0.1"]), "");
        assert_eq!(ip(&["203.0.113.7:80"]), "");
        assert_eq!(ip(&[]), "");
        assert_eq!(ip(&["::ffff:203.0.113.7"]), "203.0.113.7");
        assert_eq!(
            ip(&["2001:db8:abcd:12:34:56:78:9"]),
            "2001:0db8:abcd:0012:0000:0000:0000:0000"
        );
        assert_eq!(ip(&["::1"]), "0000:0000:0000:0000:0000:0000:0000:0000");
    }

    #[test]
    fn form_pairs_decode_plus_and_percent() {
        assert_eq!(
            form_pairs(b"a=1+2&b=%40x&c"),
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "@x".into()),
                ("c".into(), String::new())
            ]
        );
    }
}
