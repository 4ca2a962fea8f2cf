//! `authlog events tail` and `authlog events show AGGREGATE_ID`: the log for humans (one
//! line per event) or for programs (`--json`: one JSON object per line).

use std::future::Future;
use std::io::{ErrorKind, Write};
use std::time::Duration;

use authlog_eventstore::{Actor, Cursor, EventStore, RecordedEvent};
use serde_json::json;

/// How often `tail` looks for new events: other processes' commits wake nobody here.
const POLL: Duration = Duration::from_millis(250);
const BATCH: i64 = 1000;

/// Which events to show, and how.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Event types; `session.*` matches every type of an aggregate. Empty: every type.
    pub types: Vec<String>,
    pub aggregate_id: Option<String>,
}

impl EventFilter {
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        let type_matches = self.types.is_empty()
            || self
                .types
                .iter()
                .any(|wanted| match wanted.strip_suffix('*') {
                    Some(prefix) => event.event_type.starts_with(prefix),
                    None => &event.event_type == wanted,
                });
        type_matches
            && self
                .aggregate_id
                .as_ref()
                .is_none_or(|id| &event.aggregate_id == id)
    }
}

/// Prints events as they are committed, until `stop` completes (or, without `follow`, once
/// the log is read). Starts at the end of the log unless `from_start`. Returns the number
/// of events printed; a closed output (`| head`) ends it quietly.
pub async fn tail(
    store: &EventStore,
    filter: &EventFilter,
    json: bool,
    from_start: bool,
    follow: bool,
    out: &mut dyn Write,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<u64> {
    let mut cursor = if from_start {
        Cursor::default()
    } else {
        store.head().await?
    };
    let mut printed = 0;
    tokio::pin!(stop);
    loop {
        let events = store.read_all(cursor, BATCH).await?;
        for event in &events {
            cursor = event.cursor();
            if filter.matches(event) {
                if !write_or_closed(out, event, json)? {
                    return Ok(printed);
                }
                printed += 1;
            }
        }
        if !flush_or_closed(out)? {
            return Ok(printed);
        }
        if (events.len() as i64) < BATCH {
            if !follow {
                return Ok(printed);
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = &mut stop => return Ok(printed),
            }
        }
    }
}

/// Prints the history of one aggregate: every stream with that id (whatever its type) and,
/// for a user, the sessions and accounts that belong to them, in log order.
pub async fn show(
    store: &EventStore,
    aggregate_id: &str,
    related: bool,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let mut events = store.events_of_aggregate(aggregate_id).await?;
    if events.is_empty() {
        anyhow::bail!("no events for aggregate {aggregate_id:?}");
    }
    if related && events.iter().any(|event| event.aggregate_type == "user") {
        for (aggregate_type, id) in store.streams_of_user(aggregate_id).await? {
            events.extend(store.load_stream(&aggregate_type, &id).await?);
        }
        events.sort_by_key(|event| event.global_position);
    }
    for event in &events {
        if !write_or_closed(out, event, json)? {
            break;
        }
    }
    flush_or_closed(out)?;
    Ok(events.len())
}

/// Payload fields never printed: a password hash is not a bearer secret, but it can be
/// attacked offline and has no business in terminals and tickets.
const REDACTED_FIELDS: &[&str] = &["password_hash"];

/// The payload as printed.
fn shown_payload(event: &RecordedEvent) -> serde_json::Value {
    let mut payload = event.payload.clone();
    if let Some(fields) = payload.as_object_mut() {
        for field in REDACTED_FIELDS {
            if let Some(value) = fields.get_mut(*field) {
                if !value.is_null() {
                    *value = serde_json::Value::String("<redacted>".to_owned());
                }
            }
        }
    }
    payload
}

/// One event as a line: `time  #position  type  aggregate/id  vN  actor  ip  payload`.
pub fn human_line(event: &RecordedEvent) -> String {
    let actor = match &event.metadata.actor {
        Actor::User { id } => format!("user:{id}"),
        Actor::Admin { id } => format!("admin:{id}"),
        Actor::Impersonator { admin_id, user_id } => format!("admin:{admin_id}(as user:{user_id})"),
        Actor::Anonymous => "anonymous".to_owned(),
        Actor::System => "system".to_owned(),
    };
    let ip = event.metadata.ip_address.as_deref().unwrap_or("-");
    format!(
        "{}  #{:<8} {:<26} {}/{}  v{}  {actor}  {ip}  {}",
        event.occurred_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        event.global_position,
        event.event_type,
        event.aggregate_type,
        event.aggregate_id,
        event.version,
        shown_payload(event)
    )
}

/// One event as a JSON object.
pub fn json_line(event: &RecordedEvent) -> serde_json::Value {
    json!({
        "position": event.global_position,
        "event_id": event.event_id,
        "type": event.event_type,
        "event_version": event.event_version,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "version": event.version,
        "occurred_at": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "metadata": event.metadata,
        "payload": shown_payload(event),
    })
}

/// Writes one event; `false` when the reader has gone away.
fn write_or_closed(out: &mut dyn Write, event: &RecordedEvent, json: bool) -> anyhow::Result<bool> {
    let line = if json {
        json_line(event).to_string()
    } else {
        human_line(event)
    };
    closed_is_false(writeln!(out, "{line}"))
}

fn flush_or_closed(out: &mut dyn Write) -> anyhow::Result<bool> {
    closed_is_false(out.flush())
}

fn closed_is_false(result: std::io::Result<()>) -> anyhow::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == ErrorKind::BrokenPipe => Ok(false),
        Err(error) => Err(error.into()),
    }
}
