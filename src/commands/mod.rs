//! The operator subcommands beyond serving: `projections`, `events` and the hidden `dev`
//! tools. Each works on the database the settings name, alongside running servers.
//!
//! Layout:
//! - [`events`] - `events tail` and `events show AGGREGATE_ID`.
//! - [`generate_events`] - `dev generate-events`: a large realistic log for the benchmarks.
//! - [`progress`] - the progress line on stderr.
//! - [`projections`] - `projections status` and `projections rebuild NAME`.

pub mod events;
pub mod generate_events;
pub mod progress;
pub mod projections;

use std::sync::Arc;

use anyhow::Context;
use authlog_eventstore::{EventStore, Upcasters};

use crate::app;
use crate::cli::ProjectionsCommand;
use crate::settings::Settings;

/// Opens the event store as the server does: migrated, with the core inline projections, so
/// whatever a command appends updates the tables exactly as a request would.
pub async fn open_store(settings: &Settings) -> anyhow::Result<EventStore> {
    let db = app::connect(settings).await?;
    let projections = authlog_projections::core();
    EventStore::open(
        db,
        Upcasters::default(),
        authlog_projections::inline(&projections),
    )
    .await
    .context("opening the event store")
}

/// `authlog dev generate-events`.
pub async fn generate(
    settings: &Settings,
    options: generate_events::GenerateOptions,
) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let before = store.count().await?;
    let progress = Arc::new(progress::Progress::new(
        "generate-events",
        Some(options.events),
    ));
    let started = std::time::Instant::now();
    let report = progress.clone();
    let appended = generate_events::generate_events(
        &store,
        &options,
        Arc::new(move |done| report.update(done)),
    )
    .await?;
    progress.finish(appended);
    tracing::info!(
        appended,
        log_size = before + appended as i64,
        seconds = started.elapsed().as_secs_f64(),
        "events generated"
    );
    store.db().close().await;
    Ok(())
}

/// `authlog projections ...`.
pub async fn projections_command(
    settings: &Settings,
    command: ProjectionsCommand,
) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let registry = authlog_projections::Registry::standard();
    // The output is written once the work is done: holding stdout's lock across the work
    // would block every thread that logs meanwhile.
    let mut output = Vec::new();
    let outcome = match command {
        ProjectionsCommand::Status { json } => {
            let statuses = authlog_projections::status::status(&store, &registry).await?;
            projections::write_status(&statuses, json, &mut output)
        }
        ProjectionsCommand::Rebuild {
            name,
            dry_run,
            json,
        } => projections::rebuild(&store, &registry, &name, dry_run, json, &mut output)
            .await
            .map(drop),
    };
    store.db().close().await;
    std::io::Write::write_all(&mut std::io::stdout(), &output)?;
    outcome
}
