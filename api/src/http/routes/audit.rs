//! `GET /audit/list`: the audit trail. Administrators may list anyone's entries (or
//! everyone's); other users only their own, with `userId` set to their id.

use authlog_projections::audit::{self, AuditQuery, AuditRow};
use axum::extract::State;
use serde_json::{json, Value};

use crate::error::{AuthError, ErrorCode};
use crate::http::reply::{iso, Handled, Reply};
use crate::http::request::ApiRequest;
use crate::http::routes::caller::Trust;
use crate::http::AppState;

/// Entries per page unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

pub(crate) async fn list(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let caller = state.require_session(&request, Trust::Store).await?;
    let user = &caller.current.user;
    let query = parse_query(&request)?;
    let own_entries = query.user_id.as_deref() == Some(user.id.as_str());
    if !own_entries && !state.auth.is_admin(user) {
        return Err(ErrorCode::YOU_ARE_NOT_ALLOWED_TO_LIST_AUDIT_LOGS.into());
    }
    let (entries, total) = audit::list(state.auth.store().db(), &query)
        .await
        .map_err(AuthError::from)?;
    let entries: Vec<Value> = entries.iter().map(view).collect();
    Ok(Reply::json(json!({
        "entries": entries,
        "total": total,
        "limit": query.limit,
        "offset": query.offset,
    }))
    .with_cookies(caller.cookies))
}

/// `userId`, `action`, `type` (event type), `outcome`, `from` and `to` (ISO-8601 or
/// milliseconds since the epoch), `limit`, `offset`.
fn parse_query(request: &ApiRequest) -> Result<AuditQuery, AuthError> {
    let invalid = |name: &str, expected: &str| {
        AuthError::with_message(
            ErrorCode::VALIDATION_ERROR,
            format!("[query.{name}] Invalid input: expected {expected}"),
        )
    };
    let number = |name: &str| -> Result<Option<i64>, AuthError> {
        request
            .query_param(name)
            .map(|v| v.parse::<i64>().map_err(|_| invalid(name, "a number")))
            .transpose()
    };
    let time = |name: &str| -> Result<Option<i64>, AuthError> {
        request
            .query_param(name)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .or_else(|| {
                        chrono::DateTime::parse_from_rfc3339(&v)
                            .ok()
                            .map(|t| t.timestamp_millis())
                    })
                    .ok_or_else(|| invalid(name, "an ISO-8601 date or milliseconds"))
            })
            .transpose()
    };
    let outcome = request.query_param("outcome");
    if outcome
        .as_deref()
        .is_some_and(|o| o != "success" && o != "failure")
    {
        return Err(invalid("outcome", "\"success\" or \"failure\""));
    }
    Ok(AuditQuery {
        user_id: request.query_param("userId"),
        action: request.query_param("action"),
        event_type: request.query_param("type"),
        outcome,
        from_ms: time("from")?,
        to_ms: time("to")?,
        limit: number("limit")?
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT),
        offset: number("offset")?.unwrap_or(0).max(0),
    })
}

fn view(row: &AuditRow) -> Value {
    json!({
        "id": row.event_id,
        "action": row.action,
        "outcome": row.outcome,
        "userId": row.user_id,
        "actor": {"kind": row.actor_kind, "id": row.actor_id},
        "ipAddress": row.ip_address,
        "userAgent": row.user_agent,
        "requestId": row.request_id,
        "eventType": row.event_type,
        "details": row.details,
        "createdAt": iso(&row.occurred_at),
    })
}
