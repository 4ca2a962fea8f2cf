//! `users`: one row per live user, with the version of the user's stream.

use authlog_domain::user::UserEvent;
use authlog_eventstore::{with_tx, RecordedEvent, Tx};

use crate::{decode, Projection, Table};

pub struct Users;

const TABLES: &[Table] = &[Table {
    name: "users",
    columns: &[
        "id",
        "email",
        "name",
        "image",
        "email_verified",
        "created_at",
        "updated_at",
        "version",
    ],
}];

#[async_trait::async_trait]
impl Projection for Users {
    fn name(&self) -> &'static str {
        "users"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [Table] {
        TABLES
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), sqlx::Error> {
        if event.aggregate_type != "user" {
            return Ok(());
        }
        let at = event.occurred_at.timestamp_millis();
        let id = &event.aggregate_id;
        match decode::<UserEvent>(event)? {
            UserEvent::Created {
                email,
                name,
                image,
                email_verified,
                ..
            } => {
                with_tx!(tx, |conn| {
                    sqlx::query(
                        "INSERT INTO users (id, email, name, image, email_verified, created_at, updated_at, version)
                         VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
                    )
                    .bind(id)
                    .bind(email.as_str())
                    .bind(name.as_str())
                    .bind(image)
                    .bind(email_verified)
                    .bind(at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            UserEvent::ProfileUpdated { name, image } => {
                // COALESCE keeps the old name when the event does not carry one; the image is
                // only written when the event says something about it (null clears it).
                with_tx!(tx, |conn| {
                    sqlx::query(
                        "UPDATE users SET name = COALESCE($2, name),
                             image = CASE WHEN $3 THEN $4 ELSE image END,
                             updated_at = $5, version = $6
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(name.as_ref().map(|n| n.as_str()))
                    .bind(image.is_some())
                    .bind(image.clone().flatten())
                    .bind(at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            UserEvent::Deleted { .. } => {
                with_tx!(tx, |conn| {
                    sqlx::query("DELETE FROM users WHERE id = $1")
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                });
            }
            UserEvent::EmailVerified { .. } => {
                with_tx!(tx, |conn| {
                    sqlx::query(
                        "UPDATE users SET email_verified = $2, updated_at = $3, version = $4 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(true)
                    .bind(at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            UserEvent::EmailChanged {
                new_email,
                email_verified,
                ..
            } => {
                with_tx!(tx, |conn| {
                    sqlx::query(
                        "UPDATE users SET email = $2, email_verified = $3, updated_at = $4, version = $5
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(new_email.as_str())
                    .bind(email_verified)
                    .bind(at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            UserEvent::SignInFailed { .. } => {
                // Nothing visible changes, but the row tracks the stream version so the next
                // command on this user can append without folding the stream.
                with_tx!(tx, |conn| {
                    sqlx::query("UPDATE users SET version = $2 WHERE id = $1")
                        .bind(id)
                        .bind(event.version)
                        .execute(&mut *conn)
                        .await?;
                });
            }
        }
        Ok(())
    }
}
