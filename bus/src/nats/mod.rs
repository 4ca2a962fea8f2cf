//! NATS JetStream: the stream events are published to, and the client's connection.
//!
//! - [`sink`] - the publisher's [`crate::Sink`] onto the stream (ack awaited per event).
//! - [`durable`] - a durable pull consumer per [`crate::consumer::Consumer`].
//! - [`remote`] - the ephemeral subscription through which an instance hears of the
//!   sessions and users other instances changed.
//!
//! The client is created with `retry_on_initial_connect`: an instance starts, serves and
//! appends while NATS is down, and the events go out when it is back.

pub mod durable;
pub mod remote;
pub mod sink;

use std::time::Duration;

use async_nats::jetstream::{self, stream};

/// Where and how events are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// `nats://host:port` (a comma-separated list of servers also works).
    pub url: String,
    pub stream: StreamConfig,
}

/// The JetStream stream, created or updated at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// `AUTH_EVENTS`.
    pub name: String,
    /// Subjects are `<prefix>.<aggregate>.<event>`; `auth` gives `auth.user.created`.
    pub subject_prefix: String,
    /// How long the stream keeps an event. Consumers that fall further behind miss events.
    pub max_age: Duration,
    /// How long JetStream remembers a message id to drop a second publish of it: it must
    /// cover the publisher's retries (seconds) and the overlap when the publisher lock moves
    /// (a few seconds). A crash replays nothing the stream already holds (see
    /// [`crate::Sink::last_delivered`]).
    pub duplicate_window: Duration,
    /// Copies of the stream in a NATS cluster (1 on a single server).
    pub replicas: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            name: "AUTH_EVENTS".to_owned(),
            subject_prefix: crate::subject::DEFAULT_PREFIX.to_owned(),
            max_age: Duration::from_secs(7 * 24 * 3600),
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
        }
    }
}

/// The shortest duplicate window accepted: several publish retries and a lock hand-over.
pub const MIN_DUPLICATE_WINDOW: Duration = Duration::from_secs(10);

impl StreamConfig {
    /// Refuses settings JetStream would refuse later, or that break a guarantee.
    pub fn validate(&self) -> Result<(), String> {
        let valid_token = |token: &str| {
            !token.is_empty()
                && !token.contains(|c: char| c.is_whitespace() || matches!(c, '*' | '>' | '.'))
        };
        if !valid_token(&self.name) {
            return Err(format!(
                "stream name {:?}: no dots, wildcards or spaces",
                self.name
            ));
        }
        if !self.subject_prefix.split('.').all(valid_token) {
            return Err(format!(
                "subject prefix {:?}: dot-separated tokens without wildcards or spaces",
                self.subject_prefix
            ));
        }
        if self.duplicate_window < MIN_DUPLICATE_WINDOW {
            return Err(format!(
                "duplicate window {:?} is shorter than {MIN_DUPLICATE_WINDOW:?}",
                self.duplicate_window
            ));
        }
        if self.max_age < self.duplicate_window {
            return Err("the stream's max age must be at least its duplicate window".to_owned());
        }
        if self.replicas == 0 {
            return Err("replicas must be at least 1".to_owned());
        }
        Ok(())
    }

    /// The subject of an event type: `auth.user.created`.
    pub fn subject(&self, event_type: &str) -> String {
        crate::subject::under(&self.subject_prefix, event_type)
    }

    /// Every subject of the stream: `auth.>`.
    pub fn all_subjects(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }

    fn jetstream_config(&self) -> stream::Config {
        stream::Config {
            name: self.name.clone(),
            description: Some("authlog events (see docs/events.md)".to_owned()),
            subjects: vec![self.all_subjects()],
            max_age: self.max_age,
            duplicate_window: self.duplicate_window,
            num_replicas: self.replicas,
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::Old,
            ..stream::Config::default()
        }
    }
}

/// Connects in the background: returns at once, and the client keeps trying (publishes
/// wait or fail until it succeeds). Connection changes are logged.
pub async fn connect(url: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .name("authlog")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("NATS connected"),
                async_nats::Event::Disconnected => tracing::warn!(
                    "NATS disconnected: events wait in the log and go out when it is back"
                ),
                other => tracing::info!(event = %other, "NATS"),
            }
        })
        .connect(url)
        .await
}

/// `url` (or each URL of a comma-separated list) without user, password or token, for logs.
pub fn without_credentials(url: &str) -> String {
    url.split(',')
        .map(|one| match (one.find("://"), one.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                format!("{}***{}", &one[..scheme_end + 3], &one[at..])
            }
            (None, Some(at)) => format!("***{}", &one[at..]),
            _ => one.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether the client is connected right now.
pub fn is_connected(client: &async_nats::Client) -> bool {
    client.connection_state() == async_nats::connection::State::Connected
}

/// Creates the stream, or updates it when its subjects, max age, duplicate window or
/// replicas differ from `config`.
pub async fn ensure_stream(
    context: &jetstream::Context,
    config: &StreamConfig,
) -> Result<jetstream::stream::Stream, async_nats::Error> {
    let wanted = config.jetstream_config();
    let stream = context.get_or_create_stream(wanted.clone()).await?;
    let current = &stream.cached_info().config;
    let differs = current.subjects != wanted.subjects
        || current.max_age != wanted.max_age
        || current.duplicate_window != wanted.duplicate_window
        || current.num_replicas != wanted.num_replicas;
    if differs {
        tracing::info!(stream = %config.name, "updating the stream's settings");
        context.update_stream(wanted).await?;
        return Ok(context.get_stream(&config.name).await?);
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_bad_names_are_refused() {
        let config = StreamConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.subject("user.created"), "auth.user.created");
        assert_eq!(config.all_subjects(), "auth.>");
        let with = |change: fn(&mut StreamConfig)| {
            let mut config = StreamConfig::default();
            change(&mut config);
            config.validate()
        };
        assert!(with(|c| c.name = "AUTH.EVENTS".into()).is_err());
        assert!(with(|c| c.subject_prefix = "auth.>".into()).is_err());
        assert!(with(|c| c.subject_prefix = "auth..x".into()).is_err());
        assert!(with(|c| c.subject_prefix = "tenant-a.auth".into()).is_ok());
        assert!(with(|c| c.duplicate_window = Duration::from_secs(1)).is_err());
        assert!(with(|c| c.max_age = Duration::from_secs(60)).is_err());
    }

    #[test]
    fn credentials_never_reach_the_logs() {
        assert_eq!(
            without_credentials("nats://alice:s3cret@a:4222,nats://tok@b:4222,c:4222"),
            "nats://***@a:4222,nats://***@b:4222,c:4222"
        );
    }
}
