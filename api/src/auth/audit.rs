//! Recording refused operations on the log (`attempt.failed`), so the audit trail shows
//! failures, not only what succeeded.

use authlog_domain::attempt::{Attempt, AttemptEvent, RecordFailure};
use authlog_domain::values::UserId;
use authlog_eventstore::{Actor, AppendRequest};

use super::{decide, Auth, RequestContext};
use crate::crypto::random;
use crate::error::{AuthError, ErrorCode};

/// Whether a failure is worth an audit record, and under which reason. Malformed requests
/// and infrastructure failures are not; refusals about credentials, tokens, freshness,
/// taken addresses and vetoes are.
fn audit_reason(error: &AuthError) -> Option<String> {
    match error {
        AuthError::Api { code, .. } => match code {
            ErrorCode::VALIDATION_ERROR
            | ErrorCode::BAD_REQUEST
            | ErrorCode::UNSUPPORTED_MEDIA_TYPE
            | ErrorCode::PASSWORD_TOO_SHORT
            | ErrorCode::PASSWORD_TOO_LONG
            | ErrorCode::INVALID_EMAIL
            | ErrorCode::INTERNAL_SERVER_ERROR
            // Already on the user's stream as `user.sign_in_failed`.
            | ErrorCode::INVALID_EMAIL_OR_PASSWORD
            | ErrorCode::EMAIL_NOT_VERIFIED => None,
            code => Some(code.as_str().to_ascii_lowercase()),
        },
        AuthError::Custom { code, .. } => Some(format!("vetoed:{}", code.to_ascii_lowercase())),
        AuthError::MessageOnly { .. }
        | AuthError::Empty(_)
        | AuthError::Saturated { .. }
        | AuthError::Internal(_) => None,
    }
}

impl Auth {
    /// Passes `result` through, recording it first if it is a failure worth auditing.
    pub(crate) async fn audited<T>(
        &self,
        action: &str,
        user_id: Option<&str>,
        context: &RequestContext,
        result: Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        if let Err(error) = &result {
            if let Some(reason) = audit_reason(error) {
                self.record_failure(action, &reason, user_id, context).await;
            }
        }
        result
    }

    /// Appends `attempt.failed`. A failure to record is logged, never returned: the caller's
    /// own error is what the client must see.
    pub(crate) async fn record_failure(
        &self,
        action: &str,
        reason: &str,
        user_id: Option<&str>,
        context: &RequestContext,
    ) {
        let command = RecordFailure {
            action: action.to_owned(),
            reason: reason.to_owned(),
            user_id: user_id.map(|id| UserId::new(id.to_owned())),
        };
        let Ok(events) = decide(Attempt::default(), command, &()).await else {
            return;
        };
        let actor = match user_id {
            Some(id) => Actor::User { id: id.to_owned() },
            None => Actor::Anonymous,
        };
        let mut request = AppendRequest::new(context.metadata(actor), self.now());
        request.push::<AttemptEvent>(&random::new_id(), 0, &events, []);
        if let Err(error) = self.append(request).await {
            tracing::error!(%error, action, reason, "could not record a failed attempt");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_security_relevant_failures_are_audited() {
        assert_eq!(
            audit_reason(&ErrorCode::INVALID_PASSWORD.into()).as_deref(),
            Some("invalid_password")
        );
        assert_eq!(
            audit_reason(&ErrorCode::INVALID_TOKEN.into()).as_deref(),
            Some("invalid_token")
        );
        assert_eq!(audit_reason(&ErrorCode::VALIDATION_ERROR.into()), None);
        assert_eq!(
            audit_reason(&ErrorCode::INVALID_EMAIL_OR_PASSWORD.into()),
            None
        );
        assert_eq!(audit_reason(&AuthError::internal("db down")), None);
    }
}
