//! Where each projection stands: `authlog projections status`.

use authlog_eventstore::{EventStore, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::failed::{self, FailureStatus};
use crate::registry::{Mode, Registry};
use crate::state;

/// One projection's position and health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectionStatus {
    pub name: &'static str,
    pub mode: &'static str,
    /// `Projection::version()` of the running code.
    pub version: i32,
    /// The version that built the tables (`None`: never recorded).
    pub stored_version: Option<i32>,
    /// The global position of the last event reflected in the tables.
    pub position: i64,
    /// Committed events not reflected yet.
    pub lag_events: i64,
    /// How long ago the oldest of them happened.
    pub lag_seconds: f64,
    pub failed_events: usize,
    pub rebuilt_at: Option<DateTime<Utc>>,
    /// In words: up to date, behind, halted on an event, a rebuild pending, ...
    pub state: String,
}

/// The status of every registered projection. Inline projections are current by
/// construction (they commit with the events); async ones are as far as their checkpoint.
pub async fn status(
    store: &EventStore,
    registry: &Registry,
) -> Result<Vec<ProjectionStatus>, StoreError> {
    let head = store.head().await?;
    let states = state::load_all(store.db()).await?;
    let mut statuses = Vec::new();
    for (projection, mode) in registry.all() {
        let name = projection.name();
        let stored = states.iter().find(|state| state.name == name);
        let failures = failed::list(store.db(), name).await?;
        let (position, lag_events, lag_seconds) = match (mode, stored) {
            (Mode::Inline, _) => (head.position, 0, 0.0),
            (Mode::Async, None) => {
                let lag = store.lag(Default::default()).await?;
                (0, lag.events, seconds_since(lag.oldest))
            }
            (Mode::Async, Some(state)) => {
                let lag = store.lag(state.cursor).await?;
                (state.cursor.position, lag.events, seconds_since(lag.oldest))
            }
        };
        let halted = failures
            .iter()
            .find(|failure| failure.status == FailureStatus::Halted);
        let skipped = failures.len() - usize::from(halted.is_some());
        let state = match (stored, halted) {
            (Some(state), _) if state.version != projection.version() => format!(
                "built by version {}: rebuilt from the log at the next start",
                state.version
            ),
            (None, _) if mode == Mode::Inline => {
                "never built: rebuilt from the log at the next start".to_owned()
            }
            (_, Some(halted)) => format!(
                "HALTED at event {} ({}) after {} attempts: {}",
                halted.position, halted.event_type, halted.attempts, halted.last_error
            ),
            _ if lag_events > 0 => "behind".to_owned(),
            _ => "up to date".to_owned(),
        };
        let state = if skipped > 0 {
            format!("{state}; {skipped} skipped events being retried")
        } else {
            state
        };
        statuses.push(ProjectionStatus {
            name,
            mode: mode.as_str(),
            version: projection.version(),
            stored_version: stored.map(|state| state.version),
            position,
            lag_events,
            lag_seconds,
            failed_events: failures.len(),
            rebuilt_at: stored.and_then(|state| state.rebuilt_at),
            state,
        });
    }
    Ok(statuses)
}

fn seconds_since(oldest: Option<DateTime<Utc>>) -> f64 {
    oldest.map_or(0.0, |oldest| {
        (Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0
    })
}
