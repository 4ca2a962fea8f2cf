//! `verifications`: outstanding single-use tokens, by the SHA-256 of the token.

use authlog_domain::verification::VerificationEvent;
use authlog_eventstore::{with_tx, RecordedEvent, Tx};

use crate::{decode, Projection, Table, Target};

pub struct Verifications;

const TABLES: &[Table] = &[Table {
    name: "verifications",
    columns: &[
        "id",
        "purpose",
        "user_id",
        "email",
        "new_email",
        "token_hash",
        "expires_at",
        "callback_url",
        "created_at",
        "version",
    ],
}];

#[async_trait::async_trait]
impl Projection for Verifications {
    fn name(&self) -> &'static str {
        "verifications"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [Table] {
        TABLES
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        // Few events, and tokens are short-lived: one statement per event is enough.
        let table = target.table("verifications");
        for event in events.iter().filter(|e| e.aggregate_type == "verification") {
            apply_one(tx, event, &table).await?;
        }
        Ok(())
    }
}

async fn apply_one(tx: &mut Tx, event: &RecordedEvent, table: &str) -> Result<(), sqlx::Error> {
    {
        let id = &event.aggregate_id;
        match decode::<VerificationEvent>(event)? {
            VerificationEvent::Issued {
                purpose,
                user_id,
                email,
                new_email,
                token_hash,
                expires_at,
                callback_url,
                ..
            } => {
                with_tx!(tx, |conn| {
                    sqlx::query(&format!(
                        "INSERT INTO {table} (id, purpose, user_id, email, new_email, token_hash,
                             expires_at, callback_url, created_at, version)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    ))
                    .bind(id)
                    .bind(purpose.as_str())
                    .bind(user_id.as_str())
                    .bind(email.as_str())
                    .bind(new_email.as_ref().map(|e| e.as_str()))
                    .bind(token_hash.as_str())
                    .bind(expires_at.timestamp_millis())
                    .bind(&callback_url)
                    .bind(event.occurred_at.timestamp_millis())
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            VerificationEvent::Consumed => {
                with_tx!(tx, |conn| {
                    sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                });
            }
        }
        Ok(())
    }
}
