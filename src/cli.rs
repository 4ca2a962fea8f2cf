//! The subcommands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{self, Application};
use crate::commands;
use crate::settings::{ProcessEnvironment, Settings};

/// authlog: an event-sourced authentication server that speaks Better Auth's HTTP API.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Configuration file (default: ./authlog.toml if it exists; or AUTHLOG_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://... (or DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// NATS server for the event fan-out, e.g. nats://127.0.0.1:4222 (or NATS_URL);
    /// without one, events go to the in-process bus.
    #[arg(long, global = true)]
    pub nats_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (default: 127.0.0.1:3000, SQLite file authlog.db).
    Serve {
        /// Port to listen on (or AUTHLOG_PORT).
        #[arg(long)]
        port: Option<u16>,
        /// Address to bind (or AUTHLOG_HOST).
        #[arg(long)]
        host: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a new random secret for BETTER_AUTH_SECRET.
    Secret,
    /// Show the effective configuration and the size of the log.
    Info,
    /// Webhook deliveries.
    #[command(subcommand)]
    Hooks(HooksCommand),
    /// Show and rebuild projections (the tables built from the log).
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Read the log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Developer tools for benchmarks (not for production databases).
    #[command(hide = true, subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Each projection's mode, version, position, and lag behind the log (in events and in
    /// seconds); a halted projection shows the event it is stuck on.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild a projection from the log while servers keep serving.
    ///
    /// Replays the whole log into shadow tables (same schema and indexes), catches up with
    /// what was appended meanwhile, then, holding the write lock for a moment, applies the
    /// last events, compares the rebuilt rows with the live ones row for row and swaps the
    /// rebuilt tables in. The report says whether live and rebuilt differed, with a sample of
    /// the differences. With --dry-run nothing is swapped, and differing rows make the
    /// command fail (exit status 1).
    Rebuild {
        /// The projection (see `authlog projections status`).
        name: String,
        /// Compare only: keep the live tables and drop the rebuilt ones.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Follow the log: print events as they are committed (from now on, unless --from-start).
    Tail {
        /// Only events of this type (repeatable); `session.*` for every type of an aggregate.
        #[arg(long = "type", value_name = "TYPE")]
        types: Vec<String>,
        /// Only events of this aggregate (a user, session or account id).
        #[arg(long, value_name = "ID")]
        aggregate: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Start at the beginning of the log instead of its end.
        #[arg(long)]
        from_start: bool,
        /// Exit once the log is read instead of waiting for new events.
        #[arg(long)]
        no_follow: bool,
    },
    /// The full history of one user, session or account, in log order. For a user this
    /// includes their sessions and accounts.
    Show {
        aggregate_id: String,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// For a user: only the user's own stream, without sessions and accounts.
        #[arg(long)]
        no_related: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Append a large, realistic log (users signing up, in and out) directly through the
    /// event store, inline projections included, in large transactions.
    GenerateEvents {
        /// Users to sign up.
        #[arg(long, default_value_t = 50_000)]
        users: u64,
        /// Events to append (the last command completes, so a few more may be appended).
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Seed of the simulation: the same seed gives the same sequence of commands.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Concurrent appenders (default: 4 on PostgreSQL, 1 on SQLite).
        #[arg(long)]
        jobs: Option<u64>,
        /// Commands per transaction.
        #[arg(long, default_value_t = 500)]
        per_transaction: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// List the deliveries given up after every retry (the dead letters).
    Failed {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Secret = cli.command {
        #[allow(clippy::print_stdout)]
        {
            println!("{}", app::generate_secret());
        }
        return Ok(());
    }
    init_tracing();
    let mut settings = Settings::load(cli.config.as_deref(), &ProcessEnvironment)?;
    if let Some(url) = cli.database_url {
        settings.database_url = url;
    }
    if let Some(url) = cli.nats_url {
        settings.nats_url = Some(url);
    }
    match cli.command {
        Command::Serve { port, host } => {
            if let Some(port) = port {
                settings.port = port;
            }
            if let Some(host) = host {
                settings.host = host;
            }
            serve(settings).await
        }
        Command::Migrate => {
            app::connect(&settings).await?;
            tracing::info!(database = %app::redact(&settings.database_url), "migrations are up to date");
            Ok(())
        }
        Command::Info => info(settings).await,
        Command::Hooks(HooksCommand::Failed { json }) => hooks_failed(settings, json).await,
        Command::Events(command) => events_command(&settings, command).await,
        Command::Projections(command) => commands::projections_command(&settings, command).await,
        Command::Dev(DevCommand::GenerateEvents {
            users,
            events,
            seed,
            jobs,
            per_transaction,
        }) => {
            let postgres = !settings.database_url.starts_with("sqlite:");
            let options = commands::generate_events::GenerateOptions {
                users,
                events,
                seed,
                jobs: jobs.unwrap_or(if postgres { 4 } else { 1 }),
                commands_per_transaction: per_transaction,
            };
            commands::generate(&settings, options).await
        }
        Command::Secret => unreachable!("handled above"),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let database = app::redact(&settings.database_url);
    let application = Application::build(settings).await?;
    let config = application.auth().config();
    tracing::info!(
        address = %application.address(),
        base_url = %config.base_url,
        base_path = %config.base_path,
        database = %database,
        cookie_cache = %cookie_cache_summary(&config.session.cookie_cache),
        "authlog is listening"
    );
    application.run_until_stopped(shutdown_signal()).await
}

fn cookie_cache_summary(cookie_cache: &authlog_api::config::CookieCacheConfig) -> String {
    if cookie_cache.enabled {
        format!(
            "{} (version {:?})",
            cookie_cache.strategy, cookie_cache.version
        )
    } else {
        "off".to_owned()
    }
}

async fn hooks_failed(settings: Settings, json: bool) -> anyhow::Result<()> {
    let db = app::connect(&settings).await?;
    let letters = authlog_bus::webhooks::dead_letters::list(&db).await?;
    #[allow(clippy::print_stdout)]
    {
        if json {
            for letter in &letters {
                let line = serde_json::json!({
                    "webhook": letter.webhook,
                    "event_id": letter.event_id,
                    "event_type": letter.event_type,
                    "attempts": letter.attempts,
                    "last_status": letter.last_status,
                    "last_error": letter.last_error,
                    "failed_at": letter.failed_at.to_rfc3339(),
                });
                println!("{line}");
            }
        } else if letters.is_empty() {
            println!("no failed webhook deliveries");
        } else {
            println!(
                "{:<25} {:<26} {:<38} {:>8}  webhook: last error",
                "failed at", "event type", "event id", "attempts"
            );
            for letter in &letters {
                println!(
                    "{:<25} {:<26} {:<38} {:>8}  {}: {}",
                    letter.failed_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    letter.event_type,
                    letter.event_id,
                    letter.attempts,
                    letter.webhook,
                    letter.last_error
                );
            }
        }
    }
    Ok(())
}

async fn events_command(settings: &Settings, command: EventsCommand) -> anyhow::Result<()> {
    let store = commands::open_store(settings).await?;
    // Not `stdout().lock()`: a lock held across awaits would block every thread that logs.
    let mut stdout = std::io::stdout();
    let outcome = match command {
        EventsCommand::Tail {
            types,
            aggregate,
            json,
            from_start,
            no_follow,
        } => {
            let filter = commands::events::EventFilter {
                types,
                aggregate_id: aggregate,
            };
            commands::events::tail(
                &store,
                &filter,
                json,
                from_start,
                !no_follow,
                &mut stdout,
                shutdown_signal(),
            )
            .await
            .map(drop)
        }
        EventsCommand::Show {
            aggregate_id,
            json,
            no_related,
        } => commands::events::show(&store, &aggregate_id, !no_related, json, &mut stdout)
            .await
            .map(drop),
    };
    store.db().close().await;
    outcome
}

async fn info(settings: Settings) -> anyhow::Result<()> {
    let db = app::connect(&settings).await?;
    let store = authlog_eventstore::EventStore::open(db, Default::default(), Vec::new())
        .await
        .context("opening the event store")?;
    let events = store.count().await?;
    #[allow(clippy::print_stdout)]
    {
        println!("database:      {}", app::redact(&settings.database_url));
        println!("backend:       {:?}", store.db().backend());
        println!("events:        {events}");
        println!("listen:        {}:{}", settings.host, settings.port);
        println!(
            "base url:      {}",
            settings
                .base_url
                .as_deref()
                .unwrap_or("(http://localhost:<port>)")
        );
        println!("production:    {}", settings.production);
        match &settings.nats_url {
            None => println!("bus:           in-process"),
            Some(url) => println!(
                "bus:           NATS at {}, stream {} on {}",
                authlog_bus::nats::without_credentials(url),
                settings.nats_stream.name,
                settings.nats_stream.all_subjects()
            ),
        }
        let cookie_cache = &settings.session.cookie_cache;
        if cookie_cache.enabled {
            println!(
                "cookie cache:  {}, max age {} s, version {:?}",
                cookie_cache.strategy,
                cookie_cache.max_age.as_secs(),
                cookie_cache.version
            );
        } else {
            println!("cookie cache:  off");
        }
        println!(
            "secret:        {}",
            if settings.secret.is_some() {
                "configured"
            } else {
                "generated (development)"
            }
        );
    }
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTHLOG_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Logs go to stderr: stdout carries what commands print (`events tail --json`, ...).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
