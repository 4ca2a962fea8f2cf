//! The `User` aggregate: a person's profile and email. Credentials live on the
//! [`account`](crate::account) streams; sessions on [`session`](crate::session) streams.

mod command;
mod error;
mod event;
#[cfg(test)]
mod tests;

pub use command::UserCommand;
pub use error::UserError;
pub use event::{SignInFailure, UserEvent};

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::uniqueness::{UniqueClaim, UniqueKind};
use crate::values::{Email, Name, UserId};

/// Folded state of one user stream. `None` until `user.created`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    state: Option<UserState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserState {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    pub image: Option<String>,
    pub email_verified: bool,
    pub deleted: bool,
}

impl User {
    /// A live user rebuilt from a read-model row instead of by folding its stream. Sound
    /// because that row is written in the same transaction as the stream's events, and the
    /// append that follows checks the row's version.
    pub fn rehydrate(state: UserState) -> Self {
        Self { state: Some(state) }
    }

    pub fn state(&self) -> Option<&UserState> {
        self.state.as_ref()
    }

    /// A live (created, not deleted) user, or the error a command on it should fail with.
    fn live(&self) -> Result<&UserState, UserError> {
        match &self.state {
            None => Err(UserError::NotFound),
            Some(state) if state.deleted => Err(UserError::NotFound),
            Some(state) => Ok(state),
        }
    }
}

impl Aggregate for User {
    const TYPE: &'static str = "user";
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
    type Services = ();

    async fn handle(
        &mut self,
        command: UserCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), UserError> {
        match command {
            UserCommand::SignUp {
                user_id,
                email,
                name,
                image,
            } => {
                if self.state.is_some() {
                    return Err(UserError::AlreadyExists);
                }
                let event = UserEvent::Created {
                    user_id,
                    email,
                    name,
                    image,
                    email_verified: false,
                };
                sink.write(event, self).await;
            }
            UserCommand::UpdateProfile { name, image } => {
                self.live()?;
                if name.is_none() && image.is_none() {
                    return Err(UserError::NoFieldsToUpdate);
                }
                sink.write(UserEvent::ProfileUpdated { name, image }, self)
                    .await;
            }
            UserCommand::Delete => {
                let email = self.live()?.email.clone();
                sink.write(UserEvent::Deleted { email }, self).await;
            }
            UserCommand::RecordFailedSignIn { reason } => {
                self.live()?;
                sink.write(UserEvent::SignInFailed { reason }, self).await;
            }
            UserCommand::VerifyEmail { email } => {
                let state = self.live()?;
                if state.email != email {
                    return Err(UserError::EmailMismatch);
                }
                // Verifying twice is not an error; there is just nothing new to record.
                if !state.email_verified {
                    sink.write(UserEvent::EmailVerified { email }, self).await;
                }
            }
            UserCommand::ChangeEmail {
                new_email,
                verified,
            } => {
                let old_email = self.live()?.email.clone();
                if old_email == new_email {
                    return Err(UserError::SameEmail);
                }
                let event = UserEvent::EmailChanged {
                    old_email,
                    new_email,
                    email_verified: verified,
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: UserEvent) {
        match event {
            UserEvent::Created {
                user_id,
                email,
                name,
                image,
                email_verified,
            } => {
                self.state = Some(UserState {
                    id: user_id,
                    email,
                    name,
                    image,
                    email_verified,
                    deleted: false,
                });
            }
            UserEvent::ProfileUpdated { name, image } => {
                if let Some(state) = &mut self.state {
                    if let Some(name) = name {
                        state.name = name;
                    }
                    if let Some(image) = image {
                        state.image = image;
                    }
                }
            }
            UserEvent::Deleted { .. } => {
                if let Some(state) = &mut self.state {
                    state.deleted = true;
                }
            }
            // Recorded for the audit trail; it changes nothing a decision depends on.
            UserEvent::SignInFailed { .. } => {}
            UserEvent::EmailVerified { .. } => {
                if let Some(state) = &mut self.state {
                    state.email_verified = true;
                }
            }
            UserEvent::EmailChanged {
                new_email,
                email_verified,
                ..
            } => {
                if let Some(state) = &mut self.state {
                    state.email = new_email;
                    state.email_verified = email_verified;
                }
            }
        }
    }
}

impl UserEvent {
    /// The unique values this event of `user_id`'s stream takes or gives back.
    pub fn unique_claims(&self, user_id: &UserId) -> Vec<UniqueClaim> {
        match self {
            Self::Created { email, .. } => vec![UniqueClaim::Claim {
                kind: UniqueKind::UserEmail,
                value: email.as_str().to_owned(),
                owner: user_id.as_str().to_owned(),
            }],
            Self::Deleted { email } => vec![UniqueClaim::Release {
                kind: UniqueKind::UserEmail,
                value: email.as_str().to_owned(),
            }],
            Self::EmailChanged {
                old_email,
                new_email,
                ..
            } => vec![
                UniqueClaim::Release {
                    kind: UniqueKind::UserEmail,
                    value: old_email.as_str().to_owned(),
                },
                UniqueClaim::Claim {
                    kind: UniqueKind::UserEmail,
                    value: new_email.as_str().to_owned(),
                    owner: user_id.as_str().to_owned(),
                },
            ],
            Self::ProfileUpdated { .. }
            | Self::SignInFailed { .. }
            | Self::EmailVerified { .. } => Vec::new(),
        }
    }
}
