//! Writes a batch of audit entries with one statement per table (per chunk of rows) instead
//! of one or two per event: under sign-in load the audit runner's statements were about a
//! third of all the statements the database ran.

use std::collections::HashMap;

use authlog_eventstore::{with_tx, RecordedEvent, Tx};

use super::{actor, entry_of, remembers_subject, Entry};

/// Rows per INSERT: 13 parameters a row stays far below both backends' limits on bound
/// parameters (SQLite 32,766, PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 256;

/// A stream whose first event names its user: (aggregate type, aggregate id, user id).
type Subject<'a> = (&'a str, &'a str, &'a str);

/// Records `events` in `log`, remembering subjects in `subjects` and looking up the user of
/// events that do not name theirs: among this batch's earlier events, else in the table
/// (what earlier batches remembered). A subject is remembered from the first event of its
/// stream, so the batch and the table cannot disagree on it: the answer is the one the table
/// would give had each event been written before the next was read.
pub(super) async fn record_batch(
    tx: &mut Tx,
    events: &[RecordedEvent],
    log: &str,
    subjects: &str,
) -> Result<(), sqlx::Error> {
    let mut entries: Vec<Entry> = events.iter().map(entry_of).collect();
    // Subjects in order of first appearance, for the INSERT, and by stream, to look them up
    // (a rebuild's batches hold thousands).
    let mut remembered: Vec<(&str, &str)> = Vec::new();
    let mut users: HashMap<(&str, &str), String> = HashMap::new();
    for (event, entry) in events.iter().zip(&mut entries) {
        let key = (event.aggregate_type.as_str(), event.aggregate_id.as_str());
        match &entry.user_id {
            // First one wins, as the table's ON CONFLICT DO NOTHING would have it.
            Some(user_id) if remembers_subject(event) && !users.contains_key(&key) => {
                users.insert(key, user_id.clone());
                remembered.push(key);
            }
            Some(_) => {}
            None if event.aggregate_type != "attempt" => {
                entry.user_id = match users.get(&key) {
                    Some(user_id) => Some(user_id.clone()),
                    None => stored_subject(tx, subjects, event).await?,
                };
            }
            None => {}
        }
    }
    let subject_rows: Vec<Subject<'_>> = remembered
        .iter()
        .map(|key| (key.0, key.1, users[key].as_str()))
        .collect();
    for chunk in subject_rows.chunks(ROWS_PER_STATEMENT) {
        insert_subjects(tx, subjects, chunk).await?;
    }
    let rows: Vec<(&RecordedEvent, &Entry)> = events.iter().zip(&entries).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        insert_entries(tx, log, chunk).await?;
    }
    Ok(())
}

async fn stored_subject(
    tx: &mut Tx,
    subjects: &str,
    event: &RecordedEvent,
) -> Result<Option<String>, sqlx::Error> {
    let found: Option<(String,)> = with_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "SELECT user_id FROM {subjects} WHERE aggregate_type = $1 AND aggregate_id = $2"
        ))
        .bind(&event.aggregate_type)
        .bind(&event.aggregate_id)
        .fetch_optional(&mut *conn)
        .await?
    });
    Ok(found.map(|(user_id,)| user_id))
}

// The statements below differ with their row count, so they are not kept prepared
// (`persistent(false)`): up to 256 texts per table would push the hot path's statements
// out of each connection's statement cache.

async fn insert_subjects(
    tx: &mut Tx,
    subjects: &str,
    rows: &[Subject<'_>],
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        let mut insert = sqlx::QueryBuilder::new(format!(
            "INSERT INTO {subjects} (aggregate_type, aggregate_id, user_id) "
        ));
        insert.push_values(rows, |mut row, (kind, id, user_id)| {
            row.push_bind(*kind).push_bind(*id).push_bind(*user_id);
        });
        insert.push(" ON CONFLICT DO NOTHING");
        insert.build().persistent(false).execute(&mut *conn).await?;
    });
    Ok(())
}

async fn insert_entries(
    tx: &mut Tx,
    log: &str,
    rows: &[(&RecordedEvent, &Entry)],
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        let mut insert = sqlx::QueryBuilder::new(format!(
            "INSERT INTO {log} (position, event_id, occurred_at, action, outcome, user_id, \
             actor_kind, actor_id, ip_address, user_agent, request_id, event_type, details) "
        ));
        insert.push_values(rows, |mut row, (event, entry)| {
            let (actor_kind, actor_id) = actor(&event.metadata.actor);
            let metadata = &event.metadata;
            row.push_bind(event.global_position)
                .push_bind(event.event_id.to_string())
                .push_bind(event.occurred_at.timestamp_millis())
                .push_bind(entry.action.as_str())
                .push_bind(if entry.success { "success" } else { "failure" })
                .push_bind(entry.user_id.as_deref())
                .push_bind(actor_kind)
                .push_bind(actor_id)
                .push_bind(metadata.ip_address.as_deref())
                .push_bind(metadata.user_agent.as_deref())
                .push_bind(metadata.request_id.as_deref())
                .push_bind(event.event_type.as_str())
                .push_bind(entry.details.to_string());
        });
        // ON CONFLICT: a replay of an event already recorded changes nothing.
        insert.push(" ON CONFLICT DO NOTHING");
        insert.build().persistent(false).execute(&mut *conn).await?;
    });
    Ok(())
}
