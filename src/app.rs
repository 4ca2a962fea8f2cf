//! Wiring: database, migrations, event store, service, router, listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use authlog_api::auth::hooks::BeforeHook;
use authlog_api::auth::Clock;
use authlog_api::Auth;
use authlog_bus::consumer::Consumer;
use authlog_bus::email::mailbox::Mailbox;
use authlog_bus::email::smtp::Smtp;
use authlog_bus::email::{EmailConsumer, MailSettings, Mailer};
use authlog_bus::fanout::{self, BusMode};
use authlog_bus::in_process::InProcessBus;
use authlog_bus::webhooks::WebhookConsumer;
use authlog_eventstore::db::PoolSettings;
use authlog_eventstore::tokens::TokenKey;
use authlog_eventstore::{migrate, Db, EventStore, Upcasters};
use authlog_projections::runner::Runner;
use authlog_projections::Registry;
use base64::Engine;
use tokio::net::TcpListener;

use crate::settings::Settings;

/// A built server: bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    auth: Auth,
    bus: InProcessBus,
    bus_mode: BusMode,
    /// The durable consumers (mail, ...) that run beside the server.
    consumers: Vec<Arc<dyn Consumer>>,
    registry: Registry,
}

impl Application {
    /// Connects, migrates, opens the log and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// As [`Application::build`], with a controllable clock for tests.
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        Self::build_with(settings, clock, Registry::standard()).await
    }

    /// As [`Application::build`], with a clock and the projections to run. Projections whose
    /// tables were built by another version of their code are rebuilt from the log here,
    /// before the listener is bound: nothing is served from a table of the wrong shape.
    pub async fn build_with(
        settings: Settings,
        clock: Clock,
        registry: Registry,
    ) -> anyhow::Result<Self> {
        settings.check_secret()?;
        let nats = settings.nats_config()?;
        let db = connect(&settings).await?;
        let secret = match &settings.secret {
            Some(secret) => secret.clone(),
            None => development_secret(&db).await?,
        };
        let store = EventStore::open(
            db,
            Upcasters::default(),
            authlog_projections::inline(registry.inline()),
        )
        .await
        .context("opening the event store")?;
        authlog_projections::versions::ensure_current(&store, &registry)
            .await
            .context("rebuilding outdated projections")?;
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .await
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let address = listener.local_addr()?;
        let config = settings.auth_config(address.port(), secret)?;
        if config.session.cookie_cache.refresh_cache {
            tracing::warn!(
                "session.cookie_cache.refresh_cache has no effect: like Better Auth with a \
                 database, authlog re-issues the cookie cache from the session store instead"
            );
        }
        let api_url = format!("{}{}", config.base_url, config.base_path);
        let auth = Auth::new(store, config, clock)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut consumers = vec![email_consumer(&settings, auth.store(), api_url).await?];
        if !settings.webhooks.is_empty() {
            tracing::info!(
                webhooks = settings.webhooks.len(),
                "calling webhooks with committed events"
            );
            let webhooks = WebhookConsumer::new(
                auth.store().db().clone(),
                settings.webhooks.clone(),
                settings.webhook_retry,
            )
            .map_err(|e| anyhow::anyhow!(e))?;
            consumers.push(Arc::new(webhooks));
        }
        let bus = InProcessBus::new(1024);
        let bus_mode = match nats {
            Some(nats) => BusMode::Nats(nats),
            None => BusMode::InProcess(bus.clone()),
        };
        Ok(Self {
            listener,
            address,
            auth,
            bus,
            bus_mode,
            consumers,
            registry,
        })
    }

    /// Adds a consumer (mail, webhooks, ...): it follows the log in the embedded mode and
    /// reads its durable JetStream consumer with NATS, from `run_until_stopped` on.
    pub fn register_consumer(&mut self, consumer: Arc<dyn Consumer>) {
        self.consumers.push(consumer);
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Adds before hooks that can veto actions (see `authlog_api::auth::hooks`).
    pub fn with_before_hooks(mut self, hooks: Vec<Arc<dyn BeforeHook>>) -> Self {
        self.auth = self.auth.with_before_hooks(hooks);
        self
    }

    /// The in-process service (Better Auth's `auth.api`).
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The in-process bus every committed event is published to when no NATS is
    /// configured (with NATS, nothing is published to it).
    pub fn bus(&self) -> &InProcessBus {
        &self.bus
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight. The
    /// fan-out (publisher and consumers, in-process or over NATS) and the runners of the
    /// async projections run alongside, and never stop the server: with NATS down, events
    /// wait in the log.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let auth = self.auth.clone();
        let fan_out = fanout::start(
            self.auth.store().clone(),
            self.bus_mode,
            self.consumers,
            Arc::new(move |events| auth.note_remote_events(events)),
            stopped.clone(),
        )
        .await
        .context("starting the event bus")?;
        tokio::spawn(fan_out.report_status());
        let runners = self
            .registry
            .asynchronous()
            .iter()
            .map(|projection| {
                let runner = Runner::new(self.auth.store().clone(), projection.clone());
                tokio::spawn(runner.run(stopped.clone()))
            })
            .collect::<Vec<_>>();
        let router = authlog_api::http::router(self.auth.clone());
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP");
        let _ = stop.send(true);
        fan_out.stopped().await;
        for runner in runners {
            if let Err(error) = runner.await {
                tracing::error!(%error, "a projection runner panicked");
            }
        }
        self.auth.store().db().close().await;
        served
    }
}

/// The mail consumer: SMTP when a host is configured, else the development mailbox.
async fn email_consumer(
    settings: &Settings,
    store: &EventStore,
    api_url: String,
) -> anyhow::Result<Arc<dyn Consumer>> {
    let mail = &settings.mail;
    let mailer: Arc<dyn Mailer> = match mail.smtp() {
        Some(smtp) => {
            tracing::info!(host = %smtp.host, port = smtp.port, "mail goes out through SMTP");
            Arc::new(Smtp::new(&smtp).map_err(|e| anyhow::anyhow!(e))?)
        }
        None => {
            let path = mail.mailbox_path(&settings.database_url);
            tracing::info!(mailbox = %path.display(), "mail goes to the development mailbox");
            Arc::new(
                Mailbox::open(&path)
                    .with_context(|| format!("opening the mailbox {}", path.display()))?,
            )
        }
    };
    let tokens = TokenKey::load_or_create(store.db())
        .await
        .context("loading the token key")?;
    let settings = MailSettings {
        app_name: mail.app_name.clone(),
        api_url,
    };
    Ok(Arc::new(EmailConsumer::new(settings, tokens, mailer)))
}

/// Opens the database and applies pending migrations.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let pool = PoolSettings {
        max_connections: settings.database_max_connections,
        ..PoolSettings::default()
    };
    let db = Db::connect(&settings.database_url, &pool)
        .await
        .with_context(|| format!("connecting to {}", redact(&settings.database_url)))?;
    let applied = migrate::run(&db).await.context("applying migrations")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    Ok(db)
}

/// A random secret kept in the database's key table, so development sessions survive a
/// restart. Never used in production (`Settings::check_secret`).
async fn development_secret(db: &Db) -> anyhow::Result<String> {
    let secret =
        authlog_eventstore::unique::load_or_create_key(db, "development_secret", generate_secret)
            .await
            .context("creating the development secret")?;
    tracing::warn!(
        "NO SECRET CONFIGURED: using a generated development secret stored in the database. \
         Set BETTER_AUTH_SECRET (see `authlog secret`) before exposing this server; \
         production mode refuses to start without one."
    );
    Ok(secret)
}

/// 32 random bytes, base64url: a new secret.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The URL without its password, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
