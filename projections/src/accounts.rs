//! `accounts`: one row per linked account (Better Auth's `account` table).

use authlog_domain::account::AccountEvent;
use authlog_eventstore::{with_tx, RecordedEvent, Tx};

use crate::{decode, Projection, Table};

pub struct Accounts;

const TABLES: &[Table] = &[Table {
    name: "accounts",
    columns: &[
        "id",
        "user_id",
        "provider_id",
        "account_id",
        "password_hash",
        "scope",
        "created_at",
        "updated_at",
        "version",
    ],
}];

#[async_trait::async_trait]
impl Projection for Accounts {
    fn name(&self) -> &'static str {
        "accounts"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [Table] {
        TABLES
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), sqlx::Error> {
        if event.aggregate_type != "account" {
            return Ok(());
        }
        let at = event.occurred_at.timestamp_millis();
        let id = &event.aggregate_id;
        match decode::<AccountEvent>(event)? {
            AccountEvent::Linked {
                user_id,
                provider_id,
                provider_account_id,
                password_hash,
                ..
            } => {
                with_tx!(tx, |conn| {
                    sqlx::query(
                        "INSERT INTO accounts (id, user_id, provider_id, account_id, password_hash,
                             scope, created_at, updated_at, version)
                         VALUES ($1, $2, $3, $4, $5, NULL, $6, $6, $7)",
                    )
                    .bind(id)
                    .bind(user_id.as_str())
                    .bind(&provider_id)
                    .bind(&provider_account_id)
                    .bind(password_hash.as_ref().map(|h| h.as_str()))
                    .bind(at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            AccountEvent::PasswordChanged { password_hash }
            | AccountEvent::PasswordReset { password_hash } => {
                with_tx!(tx, |conn| {
                    sqlx::query(
                        "UPDATE accounts SET password_hash = $2, updated_at = $3, version = $4 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(password_hash.as_str())
                    .bind(at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            AccountEvent::Unlinked => {
                with_tx!(tx, |conn| {
                    sqlx::query("DELETE FROM accounts WHERE id = $1")
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                });
            }
        }
        Ok(())
    }
}
