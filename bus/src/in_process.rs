//! The embedded default: events are broadcast to subscribers inside the process.

use std::sync::Arc;

use authlog_eventstore::RecordedEvent;
use tokio::sync::broadcast;

use crate::{Sink, SinkError};

/// A broadcast bus. A subscriber that falls more than `capacity` events behind is told how
/// many it missed (`RecvError::Lagged`) and must catch up from the log itself.
#[derive(Debug, Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Arc<RecordedEvent>>,
}

impl InProcessBus {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<RecordedEvent>> {
        self.sender.subscribe()
    }
}

#[async_trait::async_trait]
impl Sink for InProcessBus {
    async fn publish(&self, event: &RecordedEvent) -> Result<(), SinkError> {
        // No subscriber is not an error: nothing in this process is listening yet.
        let _ = self.sender.send(Arc::new(event.clone()));
        Ok(())
    }
}
