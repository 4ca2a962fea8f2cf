use std::sync::Arc;

use authlog_api::auth::hooks::{refuse, Action, BeforeHook};
use authlog_api::AuthError;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app_with_hooks, PASSWORD};

/// Refuses sign-ups and email changes to one domain.
struct BlockDomain(&'static str);

#[async_trait::async_trait]
impl BeforeHook for BlockDomain {
    async fn before(&self, action: &Action<'_>) -> Result<(), AuthError> {
        let (Action::SignUp { email, .. }
        | Action::ChangeEmail {
            new_email: email, ..
        }) = action
        else {
            return Ok(());
        };
        if email.ends_with(&format!("@{}", self.0)) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "EMAIL_DOMAIN_BLOCKED",
                "Sign-ups from this domain are not allowed",
            ));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_before_hook_vetoes_a_sign_up_with_its_own_error() {
    let app = spawn_app_with_hooks(vec![Arc::new(BlockDomain("blocked.example"))]).await;
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "X", "email": "x@blocked.example", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.json(),
        json!({"message": "Sign-ups from this domain are not allowed", "code": "EMAIL_DOMAIN_BLOCKED"})
    );
    // Nothing of the sign-up is written; the refusal itself is, for the audit trail.
    let events = app.events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, "attempt.failed");
    assert_eq!(
        events[0].payload,
        json!({"action": "sign_up", "reason": "vetoed:email_domain_blocked", "user_id": null})
    );
    let answer = app
        .post(
            "/sign-up/email",
            json!({"name": "Y", "email": "y@fine.example", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
}
