//! `sessions`: one row per live session, keyed for lookup by the SHA-256 of its token.

use authlog_domain::session::SessionEvent;
use authlog_eventstore::{with_tx, RecordedEvent, Tx};

use crate::{decode, Projection, Table};

pub struct Sessions;

const TABLES: &[Table] = &[Table {
    name: "sessions",
    columns: &[
        "id",
        "token_hash",
        "user_id",
        "expires_at",
        "ip_address",
        "user_agent",
        "dont_remember",
        "created_at",
        "updated_at",
        "version",
    ],
}];

#[async_trait::async_trait]
impl Projection for Sessions {
    fn name(&self) -> &'static str {
        "sessions"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [Table] {
        TABLES
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), sqlx::Error> {
        if event.aggregate_type != "session" {
            return Ok(());
        }
        let at = event.occurred_at.timestamp_millis();
        let id = &event.aggregate_id;
        match decode::<SessionEvent>(event)? {
            SessionEvent::Created {
                user_id,
                token_hash,
                expires_at,
                ip_address,
                user_agent,
                dont_remember,
                ..
            } => {
                with_tx!(tx, |conn| {
                    sqlx::query(
                        "INSERT INTO sessions (id, token_hash, user_id, expires_at, ip_address,
                             user_agent, dont_remember, created_at, updated_at, version)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
                    )
                    .bind(id)
                    .bind(token_hash.as_str())
                    .bind(user_id.as_str())
                    .bind(expires_at.timestamp_millis())
                    .bind(&ip_address)
                    .bind(&user_agent)
                    .bind(dont_remember)
                    .bind(at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            SessionEvent::Refreshed { expires_at } => {
                with_tx!(tx, |conn| {
                    sqlx::query(
                        "UPDATE sessions SET expires_at = $2, updated_at = $3, version = $4 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(expires_at.timestamp_millis())
                    .bind(at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            SessionEvent::Revoked { .. } => {
                with_tx!(tx, |conn| {
                    sqlx::query("DELETE FROM sessions WHERE id = $1")
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                });
            }
        }
        Ok(())
    }
}
