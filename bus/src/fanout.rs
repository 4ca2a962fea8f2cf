//! [`start`]: the publisher and every registered consumer, in the configured mode.
//!
//! - Embedded (no NATS configured): the publisher feeds the [`InProcessBus`], and each
//!   consumer follows the log itself ([`crate::consumer::follow_log`]).
//! - NATS: the instance that holds the [`PublisherLock`] publishes to JetStream (the
//!   others stand by), each consumer reads its durable JetStream consumer, and an
//!   ephemeral subscription reports other instances' session and user changes.
//!
//! Every task restarts after a failure (database or NATS down) and ends when `stop` turns
//! true; nothing here ever makes the HTTP server stop.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use authlog_eventstore::{EventStore, ReadPace};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::consumer::{follow_log, Consumer};
use crate::in_process::InProcessBus;
use crate::nats::remote::RemoteEventHandler;
use crate::nats::sink::JetStreamSink;
use crate::nats::{self, NatsConfig};
use crate::publisher::Publisher;
use crate::publisher_lock::PublisherLock;

/// How long to wait before restarting a task that failed, or asking for the publisher lock
/// again.
const RESTART_AFTER: Duration = Duration::from_secs(1);
/// How often the publisher checks that it still holds its lock.
const LOCK_CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long NATS has to answer before the start-up report calls it unreachable.
const CONNECT_GRACE: Duration = Duration::from_secs(2);

/// Where events go.
#[derive(Debug, Clone)]
pub enum BusMode {
    InProcess(InProcessBus),
    Nats(NatsConfig),
}

/// The running fan-out.
pub struct FanOut {
    tasks: Vec<JoinHandle<()>>,
    nats: Option<(async_nats::Client, String)>,
}

/// What the start-up report says about the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusStatus {
    InProcess,
    Nats { url: String, connected: bool },
}

impl fmt::Display for BusStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InProcess => write!(f, "in-process"),
            Self::Nats {
                url,
                connected: true,
            } => write!(f, "NATS at {url}: connected"),
            Self::Nats {
                url,
                connected: false,
            } => write!(f, "NATS at {url}: NOT connected (events wait in the log)"),
        }
    }
}

/// Starts the publisher and `consumers` in `mode`. `on_remote_events` hears of the session
/// and user events every instance commits (NATS mode only: alone, an instance knows its
/// own). Fails only on a NATS URL that cannot work; an unreachable server is not an error.
pub async fn start(
    store: EventStore,
    mode: BusMode,
    consumers: Vec<Arc<dyn Consumer>>,
    on_remote_events: RemoteEventHandler,
    stop: watch::Receiver<bool>,
) -> Result<FanOut, async_nats::ConnectError> {
    let mut tasks = Vec::new();
    let config = match mode {
        BusMode::InProcess(bus) => {
            let publisher_store = store.clone();
            tasks.push(tokio::spawn(until_stopped(
                "in-process publisher",
                stop.clone(),
                move |stop| {
                    let publisher = Publisher::new(
                        publisher_store.clone(),
                        Arc::new(bus.clone()),
                        "publisher:in-process",
                    );
                    publisher.run(stop)
                },
            )));
            for consumer in consumers {
                let store = store.clone();
                let name = format!("consumer {}", consumer.name());
                tasks.push(tokio::spawn(until_stopped(
                    name,
                    stop.clone(),
                    move |stop| follow_log(store.clone(), consumer.clone(), stop),
                )));
            }
            return Ok(FanOut { tasks, nats: None });
        }
        BusMode::Nats(config) => config,
    };
    let client = nats::connect(&config.url).await?;
    let context = async_nats::jetstream::new(client.clone());
    let sink = Arc::new(JetStreamSink::new(context.clone(), config.stream.clone()));
    tasks.push(tokio::spawn(publish_while_holding_the_lock(
        store.clone(),
        sink,
        format!("publisher:nats:{}", config.stream.name),
        stop.clone(),
    )));
    for consumer in consumers {
        tasks.push(tokio::spawn(nats::durable::run(
            context.clone(),
            config.stream.clone(),
            store.clone(),
            consumer,
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn(nats::remote::follow(
        client.clone(),
        config.stream.clone(),
        on_remote_events,
        stop,
    )));
    Ok(FanOut {
        tasks,
        nats: Some((client, nats::without_credentials(&config.url))),
    })
}

impl FanOut {
    /// Logs the bus status once NATS had [`CONNECT_GRACE`] to answer: a future to spawn,
    /// so start-up does not wait for it.
    pub fn report_status(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let nats = self.nats.clone();
        async move {
            let Some((client, url)) = nats else {
                tracing::info!(bus = %BusStatus::InProcess, "event bus");
                return;
            };
            let deadline = tokio::time::Instant::now() + CONNECT_GRACE;
            while !nats::is_connected(&client) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let connected = nats::is_connected(&client);
            let status = BusStatus::Nats { url, connected };
            if connected {
                tracing::info!(bus = %status, "event bus");
            } else {
                tracing::warn!(bus = %status, "event bus: serving anyway; events go out when NATS is back");
            }
        }
    }

    /// Waits for every task to end (after `stop` turned true), then flushes what the NATS
    /// client still buffers.
    pub async fn stopped(self) {
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a fan-out task panicked");
            }
        }
        if let Some((client, _)) = self.nats {
            let _ = client.flush().await;
        }
    }
}

/// Runs `run` again after each failure until `stop` turns true.
async fn until_stopped<F, Fut, E>(name: impl Into<String>, stop: watch::Receiver<bool>, run: F)
where
    F: Fn(watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: fmt::Display,
{
    let name = name.into();
    let mut watching = stop.clone();
    while !*stop.borrow() {
        match run(stop.clone()).await {
            Ok(()) => {}
            Err(error) => tracing::warn!(%error, task = %name, "failed; restarting"),
        }
        tokio::select! {
            () = tokio::time::sleep(RESTART_AFTER) => {}
            _ = watching.changed() => {}
        }
    }
}

/// Publishes while this instance holds the publisher lock; stands by while another does.
async fn publish_while_holding_the_lock(
    store: EventStore,
    sink: Arc<JetStreamSink>,
    checkpoint: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut standing_by = false;
    while !*stop.borrow() {
        let mut lock = match PublisherLock::try_acquire(store.db()).await {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                if !standing_by {
                    tracing::info!("another instance publishes to NATS; standing by");
                    standing_by = true;
                }
                pause(&mut stop).await;
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot ask for the publisher lock; retrying");
                pause(&mut stop).await;
                continue;
            }
        };
        if standing_by {
            tracing::info!("this instance took over publishing to NATS");
            standing_by = false;
        }
        let (stop_publisher, publisher_stop) = watch::channel(false);
        // Other instances learn of revocations through this stream: read promptly.
        let publisher = Publisher::new(store.clone(), sink.clone(), checkpoint.clone())
            .with_pace(ReadPace::prompt());
        let mut publishing = tokio::spawn(publisher.run(publisher_stop));
        let (lock_lost, result) = tokio::select! {
            lock_lost = watch_lock(&mut lock, &mut stop) => {
                let _ = stop_publisher.send(true);
                (lock_lost, publishing.await)
            }
            result = &mut publishing => (false, result),
        };
        match result {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the NATS publisher failed; restarting"),
            Err(error) => tracing::error!(%error, "the NATS publisher panicked; restarting"),
        }
        if !lock_lost {
            lock.release().await;
        }
        pause(&mut stop).await;
    }
}

/// Returns `true` when the lock is lost, `false` when `stop` turned true.
async fn watch_lock(lock: &mut PublisherLock, stop: &mut watch::Receiver<bool>) -> bool {
    loop {
        tokio::select! {
            () = tokio::time::sleep(LOCK_CHECK_EVERY) => {
                if let Err(error) = lock.check().await {
                    tracing::warn!(%error, "lost the publisher lock's connection; stopping publishing");
                    return true;
                }
            }
            _ = stop.changed() => return false,
        }
    }
}

async fn pause(stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(RESTART_AFTER) => {}
        _ = stop.changed() => {}
    }
}
