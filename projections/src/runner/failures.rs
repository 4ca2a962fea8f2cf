//! What the runner does with events a projection cannot apply: halt on them or skip them
//! (as the projection says), and retry the skipped ones on the side.

use authlog_eventstore::{Cursor, RecordedEvent, StoreError};
use chrono::Utc;

use super::{Runner, Step};
use crate::failed::{self, FailureStatus};
use crate::rebuild::begin_bulk;
use crate::{state, OnFailure, Target};

impl Runner {
    /// Records `event` as failed: halts on it, or skips it, as the projection says.
    pub(super) async fn fail(
        &self,
        cursor: Cursor,
        event: &RecordedEvent,
        error: &sqlx::Error,
    ) -> Result<Step, StoreError> {
        let name = self.projection.name();
        let error = error.to_string();
        let backoff = self.settings.backoff;
        let mut tx = self.store.db().begin().await?;
        let step = match self.projection.on_failure() {
            OnFailure::Halt => {
                let attempts =
                    failed::record(&mut tx, name, event, FailureStatus::Halted, &error, backoff)
                        .await?;
                tracing::error!(projection = name, position = event.global_position, event_type = %event.event_type, attempts, %error, "projection halted on an event it cannot apply");
                let wait = chrono::Duration::from_std(backoff.delay(attempts)).unwrap_or_default();
                Step::Halted {
                    position: event.global_position,
                    until: Utc::now() + wait,
                }
            }
            OnFailure::Skip => {
                if !state::advance(
                    &mut tx,
                    name,
                    self.projection.version(),
                    cursor,
                    event.cursor(),
                )
                .await?
                {
                    tx.rollback().await?;
                    return Ok(Step::Moved);
                }
                failed::record(
                    &mut tx,
                    name,
                    event,
                    FailureStatus::Skipped,
                    &error,
                    backoff,
                )
                .await?;
                tracing::warn!(projection = name, position = event.global_position, event_type = %event.event_type, %error, "projection skipped an event it cannot apply; retrying it on the side");
                Step::Skipped {
                    position: event.global_position,
                }
            }
        };
        tx.commit().await?;
        Ok(step)
    }

    /// Tries again the skipped events that are due. Returns how many went through.
    pub async fn retry_skipped(&self) -> Result<usize, StoreError> {
        let name = self.projection.name();
        let db = self.store.db();
        let mut resolved = 0;
        for failure in failed::due_skipped(db, name, Utc::now(), 100).await? {
            let Some(event) = self.store.event_at(failure.position).await? else {
                continue;
            };
            let mut tx = begin_bulk(&self.store).await?;
            let applied = self
                .projection
                .apply_batch(&mut tx, std::slice::from_ref(&event), Target::Live)
                .await;
            match applied {
                Ok(()) => {
                    failed::resolve(&mut tx, name, failure.position).await?;
                    tx.commit().await?;
                    resolved += 1;
                    tracing::info!(
                        projection = name,
                        position = failure.position,
                        "a skipped event went through"
                    );
                }
                Err(error) => {
                    tx.rollback().await?;
                    let mut tx = db.begin().await?;
                    failed::record(
                        &mut tx,
                        name,
                        &event,
                        FailureStatus::Skipped,
                        &error.to_string(),
                        self.settings.backoff,
                    )
                    .await?;
                    tx.commit().await?;
                }
            }
        }
        Ok(resolved)
    }
}
