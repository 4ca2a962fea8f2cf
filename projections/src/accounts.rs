//! `accounts`: one row per linked account (Better Auth's `account` table).

use std::mem::take;

use authlog_domain::account::AccountEvent;
use authlog_eventstore::{RecordedEvent, Tx};

use crate::bulk::{self, Column};
use crate::fold::{self, Changes};
use crate::{decode, Projection, Table, Target};

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

/// An account row as `account.linked` makes it (`scope` is not recorded yet: always NULL).
struct NewAccount {
    user_id: String,
    provider_id: String,
    account_id: String,
    password_hash: Option<String>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

/// What `account.password_changed` changes.
#[derive(Clone)]
struct PasswordChange {
    password_hash: String,
    updated_at: i64,
    version: i64,
}

impl fold::NewRow for NewAccount {
    type Patch = PasswordChange;

    fn amend(&mut self, change: PasswordChange) {
        self.password_hash = Some(change.password_hash);
        self.updated_at = change.updated_at;
        self.version = change.version;
    }
}

impl fold::Patch for PasswordChange {
    fn then(&mut self, later: Self) {
        *self = later;
    }
}

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

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        let mut changes = Changes::<NewAccount>::new("accounts");
        for event in events {
            if event.aggregate_type == "account" {
                fold_event(&mut changes, event)?;
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let table = target.table("accounts");
        let mut parts = changes.into_parts();
        bulk::delete(tx, &table, "id", &parts.deletes).await?;
        let updates = &mut parts.updates;
        let columns = [
            Column::text("id", updates.iter_mut().map(|(id, _)| Some(take(id)))),
            Column::text(
                "password_hash",
                updates
                    .iter_mut()
                    .map(|(_, c)| Some(take(&mut c.password_hash))),
            ),
            Column::int(
                "updated_at",
                updates.iter().map(|(_, c)| Some(c.updated_at)),
            ),
            Column::int("version", updates.iter().map(|(_, c)| Some(c.version))),
        ];
        let set = [
            ("password_hash", "u.password_hash"),
            ("updated_at", "u.updated_at"),
            ("version", "u.version"),
        ];
        bulk::update(tx, &table, &columns, &set).await?;
        let rows = &mut parts.inserts;
        let columns = [
            Column::text("id", rows.iter_mut().map(|(id, _)| Some(take(id)))),
            Column::text(
                "user_id",
                rows.iter_mut().map(|(_, a)| Some(take(&mut a.user_id))),
            ),
            Column::text(
                "provider_id",
                rows.iter_mut().map(|(_, a)| Some(take(&mut a.provider_id))),
            ),
            Column::text(
                "account_id",
                rows.iter_mut().map(|(_, a)| Some(take(&mut a.account_id))),
            ),
            Column::text(
                "password_hash",
                rows.iter_mut().map(|(_, a)| take(&mut a.password_hash)),
            ),
            Column::text("scope", rows.iter().map(|_| None)),
            Column::int("created_at", rows.iter().map(|(_, a)| Some(a.created_at))),
            Column::int("updated_at", rows.iter().map(|(_, a)| Some(a.updated_at))),
            Column::int("version", rows.iter().map(|(_, a)| Some(a.version))),
        ];
        bulk::insert(tx, &table, &columns).await
    }
}

fn fold_event(changes: &mut Changes<NewAccount>, event: &RecordedEvent) -> Result<(), sqlx::Error> {
    let at = event.occurred_at.timestamp_millis();
    let id = &event.aggregate_id;
    match decode::<AccountEvent>(event)? {
        AccountEvent::Linked {
            user_id,
            provider_id,
            provider_account_id,
            password_hash,
            ..
        } => changes.insert(
            id,
            NewAccount {
                user_id: user_id.as_str().to_owned(),
                provider_id,
                account_id: provider_account_id,
                password_hash: password_hash.map(|hash| hash.as_str().to_owned()),
                created_at: at,
                updated_at: at,
                version: event.version,
            },
        )?,
        AccountEvent::PasswordChanged { password_hash }
        | AccountEvent::PasswordReset { password_hash } => changes.update(
            id,
            PasswordChange {
                password_hash: password_hash.as_str().to_owned(),
                updated_at: at,
                version: event.version,
            },
        ),
        AccountEvent::Unlinked => changes.delete(id),
    }
    Ok(())
}
