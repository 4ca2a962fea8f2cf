//! One signed POST.
//!
//! Headers: `Idempotency-Key` (the event id), `X-Authlog-Event` (its type),
//! `X-Authlog-Timestamp` (Unix seconds) and `X-Authlog-Signature`:
//! `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. A receiver recomputes the
//! HMAC over the raw body, compares in constant time, and refuses old timestamps.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Webhook;
use crate::envelope::Envelope;

/// Why a request did not count as delivered.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: Option<u16>,
    pub error: String,
}

/// An HTTP client for webhook calls.
pub struct Delivery {
    client: reqwest::Client,
}

impl Delivery {
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // A webhook answers where it is; following redirects could leak a signed body.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("authlog-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook HTTP client: {e}"))?;
        Ok(Self { client })
    }

    /// Sends `body` (the serialized `envelope`) to `webhook`. Any 2xx is delivered.
    pub async fn send(
        &self,
        webhook: &Webhook,
        envelope: &Envelope,
        body: &[u8],
    ) -> Result<(), Attempt> {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let response = self
            .client
            .post(&webhook.url)
            .header("content-type", "application/json")
            .header("idempotency-key", envelope.id.to_string())
            .header("x-authlog-event", &envelope.event_type)
            .header("x-authlog-timestamp", &timestamp)
            .header(
                "x-authlog-signature",
                signature(&webhook.secret, &timestamp, body),
            )
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| Attempt {
                status: None,
                error: e.to_string(),
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Attempt {
                status: Some(status.as_u16()),
                error: format!("HTTP {status}"),
            })
        }
    }
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_cover_timestamp_and_body() {
        let a = super::signature("s3cret", "1700000000", b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, super::signature("s3cret", "1700000001", b"{}"));
        assert_ne!(a, super::signature("s3cret", "1700000000", b"{ }"));
        assert_ne!(a, super::signature("other", "1700000000", b"{}"));
    }
}
