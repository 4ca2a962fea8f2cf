use std::sync::Arc;

use cqrs_es::test::TestFramework;

use super::*;
use crate::values::{Password, PasswordPolicy};

use crate::services::HashingSaturated;

/// "Hashes" a password as `hash:<password>`.
struct FakeHasher;

#[async_trait::async_trait]
impl PasswordHasher for FakeHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingSaturated> {
        Ok(PasswordHash::new(format!("hash:{}", password.expose())))
    }
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<bool, HashingSaturated> {
        Ok(hash.as_str() == format!("hash:{}", password.expose()))
    }
}

fn services() -> AccountServices {
    AccountServices {
        passwords: Arc::new(FakeHasher),
    }
}

fn linked() -> AccountEvent {
    AccountEvent::Linked {
        account_id: AccountId::new("a1".into()),
        user_id: UserId::new("u1".into()),
        provider_id: CREDENTIAL_PROVIDER.into(),
        provider_account_id: "u1".into(),
        password_hash: Some(PasswordHash::new("hash:old-password".into())),
    }
}

fn password(raw: &str) -> Password {
    Password::parse(raw, PasswordPolicy::default()).unwrap()
}

#[test]
fn a_credential_account_uses_the_user_id_as_account_id() {
    TestFramework::<Account>::with(services())
        .given_no_previous_events()
        .when(AccountCommand::LinkCredential {
            account_id: AccountId::new("a1".into()),
            user_id: UserId::new("u1".into()),
            password_hash: PasswordHash::new("hash:old-password".into()),
        })
        .then_expect_events(vec![linked()]);
}

#[test]
fn changing_the_password_needs_the_current_one() {
    TestFramework::<Account>::with(services())
        .given(vec![linked()])
        .when(AccountCommand::ChangePassword {
            current_password: password("wrong-password"),
            new_password: password("new-password"),
        })
        .then_expect_error(AccountError::InvalidPassword);
}

#[test]
fn changing_the_password_records_the_new_hash() {
    TestFramework::<Account>::with(services())
        .given(vec![linked()])
        .when(AccountCommand::ChangePassword {
            current_password: password("old-password"),
            new_password: password("new-password"),
        })
        .then_expect_events(vec![AccountEvent::PasswordChanged {
            password_hash: PasswordHash::new("hash:new-password".into()),
        }]);
}

#[test]
fn an_unlinked_account_has_no_credential() {
    TestFramework::<Account>::with(services())
        .given(vec![linked(), AccountEvent::Unlinked])
        .when(AccountCommand::ChangePassword {
            current_password: password("old-password"),
            new_password: password("new-password"),
        })
        .then_expect_error(AccountError::NoCredential);
}

#[test]
fn a_reset_needs_no_current_password() {
    TestFramework::<Account>::with(services())
        .given(vec![linked()])
        .when(AccountCommand::ResetPassword {
            new_password: password("brand-new-password"),
        })
        .then_expect_events(vec![AccountEvent::PasswordReset {
            password_hash: PasswordHash::new("hash:brand-new-password".into()),
        }]);
}
