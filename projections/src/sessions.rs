//! `sessions`: one row per live session, keyed for lookup by the SHA-256 of its token.

use std::mem::take;

use authlog_domain::session::SessionEvent;
use authlog_eventstore::{RecordedEvent, Tx};

use crate::bulk::{self, Column};
use crate::fold::{self, Changes};
use crate::{decode, Projection, Table, Target};

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

/// A session row as `session.created` makes it.
struct NewSession {
    token_hash: String,
    user_id: String,
    expires_at: i64,
    ip_address: String,
    user_agent: String,
    dont_remember: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

/// What `session.refreshed` changes.
#[derive(Clone)]
struct Refresh {
    expires_at: i64,
    updated_at: i64,
    version: i64,
}

impl fold::NewRow for NewSession {
    type Patch = Refresh;

    fn amend(&mut self, refresh: Refresh) {
        self.expires_at = refresh.expires_at;
        self.updated_at = refresh.updated_at;
        self.version = refresh.version;
    }
}

impl fold::Patch for Refresh {
    fn then(&mut self, later: Self) {
        *self = later;
    }
}

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

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        let mut changes = Changes::<NewSession>::new("sessions");
        for event in events {
            if event.aggregate_type == "session" {
                fold_event(&mut changes, event)?;
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let table = target.table("sessions");
        let mut parts = changes.into_parts();
        bulk::delete(tx, &table, "id", &parts.deletes).await?;
        let updates = &mut parts.updates;
        let columns = [
            Column::text("id", updates.iter_mut().map(|(id, _)| Some(take(id)))),
            Column::int(
                "expires_at",
                updates.iter().map(|(_, r)| Some(r.expires_at)),
            ),
            Column::int(
                "updated_at",
                updates.iter().map(|(_, r)| Some(r.updated_at)),
            ),
            Column::int("version", updates.iter().map(|(_, r)| Some(r.version))),
        ];
        let set = [
            ("expires_at", "u.expires_at"),
            ("updated_at", "u.updated_at"),
            ("version", "u.version"),
        ];
        bulk::update(tx, &table, &columns, &set).await?;
        let rows = &mut parts.inserts;
        let columns = [
            Column::text("id", rows.iter_mut().map(|(id, _)| Some(take(id)))),
            Column::text(
                "token_hash",
                rows.iter_mut().map(|(_, s)| Some(take(&mut s.token_hash))),
            ),
            Column::text(
                "user_id",
                rows.iter_mut().map(|(_, s)| Some(take(&mut s.user_id))),
            ),
            Column::int("expires_at", rows.iter().map(|(_, s)| Some(s.expires_at))),
            Column::text(
                "ip_address",
                rows.iter_mut().map(|(_, s)| Some(take(&mut s.ip_address))),
            ),
            Column::text(
                "user_agent",
                rows.iter_mut().map(|(_, s)| Some(take(&mut s.user_agent))),
            ),
            Column::bool(
                "dont_remember",
                rows.iter().map(|(_, s)| Some(s.dont_remember)),
            ),
            Column::int("created_at", rows.iter().map(|(_, s)| Some(s.created_at))),
            Column::int("updated_at", rows.iter().map(|(_, s)| Some(s.updated_at))),
            Column::int("version", rows.iter().map(|(_, s)| Some(s.version))),
        ];
        bulk::insert(tx, &table, &columns).await
    }
}

fn fold_event(changes: &mut Changes<NewSession>, event: &RecordedEvent) -> Result<(), sqlx::Error> {
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
        } => changes.insert(
            id,
            NewSession {
                token_hash: token_hash.as_str().to_owned(),
                user_id: user_id.as_str().to_owned(),
                expires_at: expires_at.timestamp_millis(),
                ip_address,
                user_agent,
                dont_remember,
                created_at: at,
                updated_at: at,
                version: event.version,
            },
        )?,
        SessionEvent::Refreshed { expires_at } => changes.update(
            id,
            Refresh {
                expires_at: expires_at.timestamp_millis(),
                updated_at: at,
                version: event.version,
            },
        ),
        SessionEvent::Revoked { .. } => changes.delete(id),
    }
    Ok(())
}
