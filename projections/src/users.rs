//! `users`: one row per live user, with the version of the user's stream.

use std::mem::take;

use authlog_domain::user::UserEvent;
use authlog_eventstore::{RecordedEvent, Tx};

use crate::bulk::{self, Column};
use crate::fold::{self, Changes};
use crate::{decode, Projection, Table, Target};

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

/// A user row as `user.created` makes it.
struct NewUser {
    email: String,
    name: String,
    image: Option<String>,
    email_verified: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

/// What later user events change. Every event moves the version (the row tracks the stream
/// version so the next command can append without folding the stream); a failed sign-in
/// changes nothing else.
#[derive(Clone)]
struct UserPatch {
    name: Option<String>,
    /// A changed address (`user.email_changed`).
    email: Option<String>,
    email_verified: Option<bool>,
    /// `Some(None)` clears the image; `None` leaves it.
    image: Option<Option<String>>,
    updated_at: Option<i64>,
    version: i64,
}

impl fold::NewRow for NewUser {
    type Patch = UserPatch;

    fn amend(&mut self, patch: UserPatch) {
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(email) = patch.email {
            self.email = email;
        }
        if let Some(email_verified) = patch.email_verified {
            self.email_verified = email_verified;
        }
        if let Some(image) = patch.image {
            self.image = image;
        }
        if let Some(updated_at) = patch.updated_at {
            self.updated_at = updated_at;
        }
        self.version = patch.version;
    }
}

impl UserPatch {
    /// A patch that only moves the stream version.
    fn version_only(version: i64) -> Self {
        Self {
            name: None,
            email: None,
            email_verified: None,
            image: None,
            updated_at: None,
            version,
        }
    }
}

impl fold::Patch for UserPatch {
    fn then(&mut self, later: Self) {
        self.name = later.name.or(self.name.take());
        self.email = later.email.or(self.email.take());
        self.email_verified = later.email_verified.or(self.email_verified);
        self.image = later.image.or(self.image.take());
        self.updated_at = later.updated_at.or(self.updated_at);
        self.version = later.version;
    }
}

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

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        let mut changes = Changes::<NewUser>::new("users");
        for event in events {
            if event.aggregate_type == "user" {
                fold_event(&mut changes, event)?;
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let table = target.table("users");
        let mut parts = changes.into_parts();
        bulk::delete(tx, &table, "id", &parts.deletes).await?;
        let updates = &mut parts.updates;
        let columns = [
            Column::text("id", updates.iter_mut().map(|(id, _)| Some(take(id)))),
            Column::text("name", updates.iter_mut().map(|(_, p)| take(&mut p.name))),
            Column::text("email", updates.iter_mut().map(|(_, p)| take(&mut p.email))),
            Column::bool(
                "email_verified",
                updates.iter().map(|(_, p)| p.email_verified),
            ),
            Column::bool(
                "set_image",
                updates.iter().map(|(_, p)| Some(p.image.is_some())),
            ),
            Column::text(
                "image",
                updates
                    .iter_mut()
                    .map(|(_, p)| take(&mut p.image).flatten()),
            ),
            Column::int("updated_at", updates.iter().map(|(_, p)| p.updated_at)),
            Column::int("version", updates.iter().map(|(_, p)| Some(p.version))),
        ];
        // COALESCE keeps what the events did not mention; the image is only written when an
        // event said something about it (null clears it).
        let set = [
            ("name", "COALESCE(u.name, t.name)"),
            ("email", "COALESCE(u.email, t.email)"),
            (
                "email_verified",
                "COALESCE(u.email_verified, t.email_verified)",
            ),
            (
                "image",
                "CASE WHEN u.set_image THEN u.image ELSE t.image END",
            ),
            ("updated_at", "COALESCE(u.updated_at, t.updated_at)"),
            ("version", "u.version"),
        ];
        bulk::update(tx, &table, &columns, &set).await?;
        let rows = &mut parts.inserts;
        let columns = [
            Column::text("id", rows.iter_mut().map(|(id, _)| Some(take(id)))),
            Column::text(
                "email",
                rows.iter_mut().map(|(_, u)| Some(take(&mut u.email))),
            ),
            Column::text(
                "name",
                rows.iter_mut().map(|(_, u)| Some(take(&mut u.name))),
            ),
            Column::text("image", rows.iter_mut().map(|(_, u)| take(&mut u.image))),
            Column::bool(
                "email_verified",
                rows.iter().map(|(_, u)| Some(u.email_verified)),
            ),
            Column::int("created_at", rows.iter().map(|(_, u)| Some(u.created_at))),
            Column::int("updated_at", rows.iter().map(|(_, u)| Some(u.updated_at))),
            Column::int("version", rows.iter().map(|(_, u)| Some(u.version))),
        ];
        bulk::insert(tx, &table, &columns).await
    }
}

fn fold_event(changes: &mut Changes<NewUser>, event: &RecordedEvent) -> Result<(), sqlx::Error> {
    let at = event.occurred_at.timestamp_millis();
    let id = &event.aggregate_id;
    match decode::<UserEvent>(event)? {
        UserEvent::Created {
            email,
            name,
            image,
            email_verified,
            ..
        } => changes.insert(
            id,
            NewUser {
                email: email.as_str().to_owned(),
                name: name.as_str().to_owned(),
                image,
                email_verified,
                created_at: at,
                updated_at: at,
                version: event.version,
            },
        )?,
        UserEvent::ProfileUpdated { name, image } => changes.update(
            id,
            UserPatch {
                name: name.map(|name| name.as_str().to_owned()),
                image,
                updated_at: Some(at),
                ..UserPatch::version_only(event.version)
            },
        ),
        UserEvent::EmailVerified { .. } => changes.update(
            id,
            UserPatch {
                email_verified: Some(true),
                updated_at: Some(at),
                ..UserPatch::version_only(event.version)
            },
        ),
        UserEvent::EmailChanged {
            new_email,
            email_verified,
            ..
        } => changes.update(
            id,
            UserPatch {
                email: Some(new_email.as_str().to_owned()),
                email_verified: Some(email_verified),
                updated_at: Some(at),
                ..UserPatch::version_only(event.version)
            },
        ),
        UserEvent::SignInFailed { .. } => {
            changes.update(id, UserPatch::version_only(event.version))
        }
        UserEvent::Deleted { .. } => changes.delete(id),
    }
    Ok(())
}
