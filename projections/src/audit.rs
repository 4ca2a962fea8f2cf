//! `audit_log`: every event as an audit entry, named as Better Auth's audit logs name them
//! (`user_signed_up`, `user_signed_in`, `session_revoked`, `password_changed`, ...), with the
//! user it concerns, who acted, from where, and whether it succeeded. Failures are events
//! too (`user.sign_in_failed`, `attempt.failed`), so they appear as `*_failed` entries.
//!
//! Session, account and verification events other than the first do not name their user;
//! `audit_subjects` remembers it from the first.

mod write;

use authlog_eventstore::{Actor, RecordedEvent, Tx};
use serde_json::{json, Value};

use crate::{Projection, Table, Target};

pub struct AuditLog;

const TABLES: &[Table] = &[
    Table {
        name: "audit_log",
        columns: &[
            "position",
            "event_id",
            "occurred_at",
            "action",
            "outcome",
            "user_id",
            "actor_kind",
            "actor_id",
            "ip_address",
            "user_agent",
            "request_id",
            "event_type",
            "details",
        ],
    },
    Table {
        name: "audit_subjects",
        columns: &["aggregate_id", "aggregate_type", "user_id"],
    },
];

/// What an event says for the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub action: String,
    pub success: bool,
    /// The user the event concerns, when the event names it.
    pub user_id: Option<String>,
    pub details: Value,
}

/// The entry of an event; `None` for an event type the audit trail does not know (it is
/// recorded under its own type then, see [`AuditLog`]).
pub fn entry_of(event: &RecordedEvent) -> Entry {
    let p = &event.payload;
    let text = |key: &str| p.get(key).and_then(Value::as_str).map(str::to_owned);
    let own_id = Some(event.aggregate_id.clone());
    let (action, success, user_id, details) = match event.event_type.as_str() {
        "user.created" => (
            "user_signed_up",
            true,
            own_id,
            json!({"email": p["email"], "name": p["name"]}),
        ),
        "user.profile_updated" => ("user_updated", true, own_id, p.clone()),
        "user.deleted" => ("user_deleted", true, own_id, json!({"email": p["email"]})),
        "user.sign_in_failed" => (
            "user_sign_in_failed",
            false,
            own_id,
            json!({"reason": p["reason"]}),
        ),
        "user.email_verified" => ("email_verified", true, own_id, json!({"email": p["email"]})),
        "user.email_changed" => (
            "email_changed",
            true,
            own_id,
            json!({"old_email": p["old_email"], "new_email": p["new_email"]}),
        ),
        "session.created" => (
            "user_signed_in",
            true,
            text("user_id"),
            json!({"session_id": event.aggregate_id, "expires_at": p["expires_at"], "dont_remember": p["dont_remember"]}),
        ),
        "session.refreshed" => (
            "session_refreshed",
            true,
            None,
            json!({"session_id": event.aggregate_id, "expires_at": p["expires_at"]}),
        ),
        "session.revoked" => (
            if p["reason"] == "sign_out" {
                "user_signed_out"
            } else {
                "session_revoked"
            },
            true,
            None,
            json!({"session_id": event.aggregate_id, "reason": p["reason"]}),
        ),
        "account.linked" => (
            "account_linked",
            true,
            text("user_id"),
            json!({"account_id": event.aggregate_id, "provider_id": p["provider_id"]}),
        ),
        "account.password_changed" => (
            "password_changed",
            true,
            None,
            json!({"account_id": event.aggregate_id}),
        ),
        "account.password_reset" => (
            "password_reset",
            true,
            None,
            json!({"account_id": event.aggregate_id}),
        ),
        "account.unlinked" => (
            "account_unlinked",
            true,
            None,
            json!({"account_id": event.aggregate_id}),
        ),
        "verification.issued" => (
            match p["purpose"].as_str() {
                Some("reset_password") => "password_reset_requested",
                Some("verify_email") => "verification_email_sent",
                _ => "email_change_requested",
            },
            true,
            text("user_id"),
            json!({"verification_id": event.aggregate_id, "purpose": p["purpose"], "email": p["email"], "new_email": p["new_email"]}),
        ),
        "verification.consumed" => (
            "verification_used",
            true,
            None,
            json!({"verification_id": event.aggregate_id}),
        ),
        "attempt.failed" => {
            let action = text("action").unwrap_or_else(|| "operation".to_owned());
            return Entry {
                action: format!("{action}_failed"),
                success: false,
                user_id: text("user_id"),
                details: json!({"reason": p["reason"]}),
            };
        }
        other => (other, true, None, Value::Object(Default::default())),
    };
    Entry {
        action: action.to_owned(),
        success,
        user_id,
        details,
    }
}

/// The aggregate types whose first event names the user the stream belongs to.
fn remembers_subject(event: &RecordedEvent) -> bool {
    matches!(
        event.event_type.as_str(),
        "session.created" | "account.linked" | "verification.issued"
    )
}

#[async_trait::async_trait]
impl Projection for AuditLog {
    fn name(&self) -> &'static str {
        "audit_log"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [Table] {
        TABLES
    }

    /// Cosmetic for access decisions: an event it cannot record is skipped and retried on
    /// the side rather than stopping the trail.
    fn on_failure(&self) -> crate::OnFailure {
        crate::OnFailure::Skip
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        target: Target,
    ) -> Result<(), sqlx::Error> {
        let log = target.table("audit_log");
        let subjects = target.table("audit_subjects");
        write::record_batch(tx, events, &log, &subjects).await
    }
}

fn actor(actor: &Actor) -> (&'static str, Option<String>) {
    match actor {
        Actor::User { id } => ("user", Some(id.clone())),
        Actor::Admin { id } => ("admin", Some(id.clone())),
        Actor::Impersonator { admin_id, .. } => ("impersonator", Some(admin_id.clone())),
        Actor::Anonymous => ("anonymous", None),
        Actor::System => ("system", None),
    }
}

/// A row of `audit_log`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub position: i64,
    pub event_id: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub action: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub event_type: String,
    pub details: Value,
}

/// Which entries to list. Every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub action: Option<String>,
    pub event_type: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Milliseconds since the epoch, inclusive.
    pub from_ms: Option<i64>,
    /// Milliseconds since the epoch, exclusive.
    pub to_ms: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// The newest entries matching `query` first, and how many match in all.
pub async fn list(
    db: &authlog_eventstore::Db,
    query: &AuditQuery,
) -> Result<(Vec<AuditRow>, i64), sqlx::Error> {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    let mut condition = |sql: &str, bind: Bind| {
        binds.push(bind);
        conditions.push(sql.replace('?', &format!("${}", binds.len())));
    };
    if let Some(user_id) = &query.user_id {
        condition("user_id = ?", Bind::Text(user_id.clone()));
    }
    if let Some(action) = &query.action {
        condition("action = ?", Bind::Text(action.clone()));
    }
    if let Some(event_type) = &query.event_type {
        condition("event_type = ?", Bind::Text(event_type.clone()));
    }
    if let Some(outcome) = &query.outcome {
        condition("outcome = ?", Bind::Text(outcome.clone()));
    }
    if let Some(from) = query.from_ms {
        condition("occurred_at >= ?", Bind::Int(from));
    }
    if let Some(to) = query.to_ms {
        condition("occurred_at < ?", Bind::Int(to));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let count_sql = format!("SELECT COUNT(*) FROM audit_log {filter}");
    let page_sql = format!(
        "SELECT position, event_id, occurred_at, action, outcome, user_id, actor_kind, actor_id,
                ip_address, user_agent, request_id, event_type, details
         FROM audit_log {filter} ORDER BY occurred_at DESC, position DESC
         LIMIT ${} OFFSET ${}",
        binds.len() + 1,
        binds.len() + 2
    );
    Ok(authlog_eventstore::with_reader!(db, |pool| {
        use sqlx::Row;
        let mut count = sqlx::query_as::<_, (i64,)>(&count_sql);
        let mut page = sqlx::query(&page_sql);
        for bind in &binds {
            match bind {
                Bind::Text(text) => {
                    count = count.bind(text);
                    page = page.bind(text);
                }
                Bind::Int(number) => {
                    count = count.bind(*number);
                    page = page.bind(*number);
                }
            }
        }
        let (total,) = count.fetch_one(pool).await?;
        let rows = page
            .bind(query.limit)
            .bind(query.offset)
            .fetch_all(pool)
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let details: String = row.try_get("details")?;
            entries.push(AuditRow {
                position: row.try_get("position")?,
                event_id: row.try_get("event_id")?,
                occurred_at: authlog_eventstore::from_millis(row.try_get("occurred_at")?),
                action: row.try_get("action")?,
                outcome: row.try_get("outcome")?,
                user_id: row.try_get("user_id")?,
                actor_kind: row.try_get("actor_kind")?,
                actor_id: row.try_get("actor_id")?,
                ip_address: row.try_get("ip_address")?,
                user_agent: row.try_get("user_agent")?,
                request_id: row.try_get("request_id")?,
                event_type: row.try_get("event_type")?,
                details: serde_json::from_str(&details).unwrap_or(Value::Null),
            });
        }
        (entries, total)
    }))
}
