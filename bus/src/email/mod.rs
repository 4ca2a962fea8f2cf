//! The email consumer: turns `verification.issued` events into mail.
//!
//! The token in the link is derived again from the verification id (see
//! `authlog_eventstore::tokens`): neither the log nor anything it feeds holds it. A mail whose
//! token has expired by the time it would leave (the consumer was down, say) is not sent.
//!
//! Layout: [`message`] builds the mail of each purpose; [`mailbox`] is the development
//! transport (one JSON line per mail in a file); [`smtp`] sends through an SMTP server.

pub mod mailbox;
pub mod message;
pub mod smtp;

use std::sync::Arc;

use authlog_eventstore::tokens::TokenKey;
use authlog_eventstore::RecordedEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::consumer::{Consumer, ConsumerError};
use message::{Mail, Purpose};

/// Delivers a mail. Implementations are idempotent per `mail.event_id` where they can be.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), ConsumerError>;
}

/// What the mails say and where their links lead.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Shown in subjects and bodies.
    pub app_name: String,
    /// The server's base URL including the API path, e.g. `https://auth.example.com/api/auth`.
    pub api_url: String,
}

/// The consumer.
pub struct EmailConsumer {
    settings: MailSettings,
    tokens: TokenKey,
    mailer: Arc<dyn Mailer>,
}

impl EmailConsumer {
    pub fn new(settings: MailSettings, tokens: TokenKey, mailer: Arc<dyn Mailer>) -> Self {
        Self {
            settings,
            tokens,
            mailer,
        }
    }
}

/// The fields of `verification.issued` the mailer reads (see docs/events.md).
#[derive(Debug, Deserialize)]
struct Issued {
    verification_id: String,
    purpose: String,
    email: String,
    new_email: Option<String>,
    expires_at: DateTime<Utc>,
    callback_url: Option<String>,
}

#[async_trait::async_trait]
impl Consumer for EmailConsumer {
    fn name(&self) -> &'static str {
        "email"
    }

    fn wants(&self, event_type: &str) -> bool {
        event_type == "verification.issued"
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), ConsumerError> {
        let issued: Issued = serde_json::from_value(event.payload.clone())
            .map_err(|e| ConsumerError(format!("verification.issued payload: {e}")))?;
        let Some(purpose) = Purpose::parse(&issued.purpose) else {
            tracing::warn!(purpose = %issued.purpose, "no mail for this verification purpose");
            return Ok(());
        };
        if issued.expires_at <= Utc::now() {
            tracing::warn!(event_id = %event.event_id, "not sending a mail whose link has expired");
            return Ok(());
        }
        let recipient = match purpose {
            Purpose::ChangeEmailVerification => {
                issued.new_email.clone().unwrap_or(issued.email.clone())
            }
            _ => issued.email.clone(),
        };
        let token = self.tokens.token(&issued.verification_id);
        let mail = message::compose(
            &self.settings,
            purpose,
            event.event_id.to_string(),
            recipient,
            issued.new_email.as_deref(),
            token,
            issued.callback_url.as_deref(),
        );
        self.mailer.send(&mail).await
    }
}
