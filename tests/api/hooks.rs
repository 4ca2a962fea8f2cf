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
    assert!(
        app.events().await.is_empty(),
        "a vetoed action writes nothing"
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
