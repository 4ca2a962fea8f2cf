use serde::{Deserialize, Serialize};

use crate::values::{Email, Name, UserId};
use crate::StoredEvent;

/// Facts about a user. Who, from where and when live in the event metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum UserEvent {
    #[serde(rename = "user.created")]
    Created {
        user_id: UserId,
        email: Email,
        name: Name,
        image: Option<String>,
        email_verified: bool,
    },
    /// Only the fields that changed are present; `image: null` means "cleared".
    #[serde(rename = "user.profile_updated")]
    ProfileUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<Name>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::user::event::double_option"
        )]
        image: Option<Option<String>>,
    },
    /// The email is carried so the unique claim on it can be released.
    #[serde(rename = "user.deleted")]
    Deleted { email: Email },
    #[serde(rename = "user.sign_in_failed")]
    SignInFailed { reason: SignInFailure },
    #[serde(rename = "user.email_verified")]
    EmailVerified { email: Email },
    /// Carries both addresses: the old one's unique claim is released, the new one taken.
    #[serde(rename = "user.email_changed")]
    EmailChanged {
        old_email: Email,
        new_email: Email,
        email_verified: bool,
    },
}

/// Why a sign-in was refused, as recorded on the user's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    InvalidPassword,
    NoCredentialAccount,
    EmailNotVerified,
}

impl StoredEvent for UserEvent {
    const AGGREGATE_TYPE: &'static str = "user";

    fn event_type(&self) -> &'static str {
        match self {
            Self::Created { .. } => "user.created",
            Self::ProfileUpdated { .. } => "user.profile_updated",
            Self::Deleted { .. } => "user.deleted",
            Self::SignInFailed { .. } => "user.sign_in_failed",
            Self::EmailVerified { .. } => "user.email_verified",
            Self::EmailChanged { .. } => "user.email_changed",
        }
    }
}

crate::impl_domain_event!(UserEvent);

/// Serde for `Option<Option<T>>` that tells "absent" (outer `None`) from "null"
/// (`Some(None)`).
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}
