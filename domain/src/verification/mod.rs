//! The `Verification` aggregate: a single-use token mailed to a user (verify an email, reset a
//! password, confirm or verify an email change). Only the token's SHA-256 is part of the
//! domain; the token itself is derived when the mail is sent (see `eventstore::tokens`).
//!
//! Single use is a property of the stream: consuming appends `verification.consumed` at the
//! version the consumer read, so of two concurrent redemptions exactly one commits.

mod error;
mod event;
#[cfg(test)]
mod tests;

pub use error::VerificationError;
pub use event::{Purpose, VerificationEvent};

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::values::{Email, TokenHash, UserId};

/// What can be asked of a verification stream.
#[derive(Debug, Clone, PartialEq)]
pub enum VerificationCommand {
    Issue {
        verification_id: String,
        purpose: Purpose,
        user_id: UserId,
        /// Where the mail goes.
        email: Email,
        /// The address an email change moves to.
        new_email: Option<Email>,
        token_hash: TokenHash,
        expires_at: DateTime<Utc>,
        /// Where the link leads after use (already checked against the trusted origins).
        callback_url: Option<String>,
    },
    /// Use the token up. Fails if it was used already or has expired.
    Consume { now: DateTime<Utc> },
}

/// Folded state of one verification stream.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    state: Option<VerificationState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationState {
    pub purpose: Purpose,
    pub user_id: UserId,
    pub email: Email,
    pub new_email: Option<Email>,
    pub expires_at: DateTime<Utc>,
    pub consumed: bool,
}

impl Verification {
    /// An unconsumed verification rebuilt from its read-model row (see `User::rehydrate`).
    pub fn rehydrate(state: VerificationState) -> Self {
        Self { state: Some(state) }
    }

    pub fn state(&self) -> Option<&VerificationState> {
        self.state.as_ref()
    }
}

impl Aggregate for Verification {
    const TYPE: &'static str = "verification";
    type Command = VerificationCommand;
    type Event = VerificationEvent;
    type Error = VerificationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: VerificationCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), VerificationError> {
        match command {
            VerificationCommand::Issue {
                verification_id,
                purpose,
                user_id,
                email,
                new_email,
                token_hash,
                expires_at,
                callback_url,
            } => {
                if self.state.is_some() {
                    return Err(VerificationError::AlreadyExists);
                }
                let event = VerificationEvent::Issued {
                    verification_id,
                    purpose,
                    user_id,
                    email,
                    new_email,
                    token_hash,
                    expires_at,
                    callback_url,
                };
                sink.write(event, self).await;
            }
            VerificationCommand::Consume { now } => {
                let state = self.state.as_ref().ok_or(VerificationError::NotFound)?;
                if state.consumed {
                    return Err(VerificationError::AlreadyConsumed);
                }
                if state.expires_at <= now {
                    return Err(VerificationError::Expired);
                }
                sink.write(VerificationEvent::Consumed, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: VerificationEvent) {
        match event {
            VerificationEvent::Issued {
                purpose,
                user_id,
                email,
                new_email,
                expires_at,
                ..
            } => {
                self.state = Some(VerificationState {
                    purpose,
                    user_id,
                    email,
                    new_email,
                    expires_at,
                    consumed: false,
                });
            }
            VerificationEvent::Consumed => {
                if let Some(state) = &mut self.state {
                    state.consumed = true;
                }
            }
        }
    }
}
