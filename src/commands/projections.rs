//! `authlog projections status` and `authlog projections rebuild NAME`.

use std::io::Write;
use std::sync::Mutex;

use anyhow::Context;
use authlog_eventstore::EventStore;
use authlog_projections::rebuild::{
    self, DifferenceKind, Phase, RebuildOptions, RebuildProgress, RebuildReport,
};
use authlog_projections::status::ProjectionStatus;
use authlog_projections::Registry;

use super::progress::{thousands, Progress};

/// Rebuilds `name` while servers keep serving, reports the comparison of the rebuilt rows
/// with the live ones, and swaps them in unless `dry_run`. A dry run whose rows differ is an
/// error (exit status 1), so scripts can check a projection with it.
pub async fn rebuild(
    store: &EventStore,
    registry: &Registry,
    name: &str,
    dry_run: bool,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<RebuildReport> {
    let (projection, mode) = registry.find(name).with_context(|| {
        format!(
            "no projection named {name:?}; known: {}",
            registry.names().join(", ")
        )
    })?;
    let display = PhaseProgress::new(name);
    let report = rebuild::rebuild(
        store,
        &projection,
        mode,
        RebuildOptions { swap: !dry_run },
        &|progress| display.update(progress),
    )
    .await
    .with_context(|| format!("rebuilding {name}"))?;
    display.finish();
    if json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write_report(&report, out)?;
    }
    if dry_run && !report.is_identical() {
        anyhow::bail!("the rebuilt {name} differs from the live one (dry run: nothing swapped)");
    }
    Ok(report)
}

/// The report as an operator reads it.
pub fn write_report(report: &RebuildReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({}, version {}): replayed {} events in {:.2} s ({} events/s); write lock held {:.3} s; position {}",
        report.projection,
        report.mode,
        report.version,
        thousands(report.replayed),
        report.seconds,
        thousands(report.events_per_second() as u64),
        report.locked_seconds,
        report.position
    )?;
    for table in &report.tables {
        if table.is_identical() {
            writeln!(
                out,
                "  table {}: {} rows, rebuilt rows identical to the live ones",
                table.table,
                thousands(table.live_rows.max(0) as u64)
            )?;
            continue;
        }
        writeln!(
            out,
            "  table {}: {} live rows, {} rebuilt: {} equal, {} differing, {} only in live, {} only in rebuilt",
            table.table,
            thousands(table.live_rows.max(0) as u64),
            thousands(table.rebuilt_rows.max(0) as u64),
            thousands(table.equal.max(0) as u64),
            table.differing,
            table.only_live,
            table.only_rebuilt
        )?;
        for difference in &table.sample {
            let kind = match difference.kind {
                DifferenceKind::Differs => "differs",
                DifferenceKind::OnlyLive => "only in live",
                DifferenceKind::OnlyRebuilt => "only in rebuilt",
            };
            let columns = difference
                .columns
                .iter()
                .map(|column| {
                    format!(
                        "{}: live={} rebuilt={}",
                        column.column,
                        column.live.as_deref().unwrap_or("NULL"),
                        column.rebuilt.as_deref().unwrap_or("NULL")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            writeln!(out, "    {kind} {}: {columns}", difference.key)?;
        }
    }
    let outcome = match (report.swapped, report.is_identical()) {
        (true, true) => "swapped in (no row changed)",
        (true, false) => "swapped in: the live tables now hold the rebuilt rows",
        (false, true) => "dry run: nothing swapped; live and rebuilt are identical",
        (false, false) => "dry run: nothing swapped; live and rebuilt differ",
    };
    writeln!(out, "  {outcome}")
}

/// Prints `authlog projections status`.
pub fn write_status(
    statuses: &[ProjectionStatus],
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, statuses)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<16} {:<7} {:>7} {:>12} {:>12} {:>10}  STATE",
        "PROJECTION", "MODE", "VERSION", "POSITION", "LAG EVENTS", "LAG S"
    )?;
    for status in statuses {
        let version = match status.stored_version {
            Some(stored) if stored != status.version => format!("{stored}->{}", status.version),
            _ => status.version.to_string(),
        };
        writeln!(
            out,
            "{:<16} {:<7} {:>7} {:>12} {:>12} {:>10.1}  {}",
            status.name,
            status.mode,
            version,
            status.position,
            status.lag_events,
            status.lag_seconds,
            status.state
        )?;
    }
    Ok(())
}

/// One progress line per phase of a rebuild, each counting the events of its own phase.
struct PhaseProgress {
    name: String,
    current: Mutex<Option<PhaseLine>>,
}

struct PhaseLine {
    phase: Phase,
    display: Progress,
    /// Events replayed before this phase began.
    base: u64,
    done: u64,
}

impl PhaseProgress {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            current: Mutex::new(None),
        }
    }

    fn update(&self, progress: RebuildProgress) {
        let mut current = self.current.lock().expect("progress lock");
        if current
            .as_ref()
            .is_none_or(|line| line.phase != progress.phase)
        {
            if let Some(previous) = current.take() {
                previous.finish();
            }
            let (label, total) = match progress.phase {
                Phase::Replaying => ("replaying the log", Some(progress.total)),
                Phase::Copying => ("copying into the database", None),
                Phase::Indexing => ("building the indexes", None),
                Phase::CatchingUp => ("catching up", None),
                Phase::Swapping => ("write lock: last events, comparison, swap", None),
            };
            let display = Progress::new(format!("rebuild {}: {label}", self.name), total);
            if matches!(
                progress.phase,
                Phase::Copying | Phase::Indexing | Phase::Swapping
            ) {
                display.announce();
            }
            *current = Some(PhaseLine {
                phase: progress.phase,
                display,
                base: progress.replayed,
                done: 0,
            });
        }
        if let Some(line) = current.as_mut() {
            line.done = progress.replayed - line.base;
            if line.phase == Phase::Replaying {
                line.display.set_total(progress.total);
            }
            if line.counts_events() {
                line.display.update(line.done);
            }
        }
    }

    fn finish(&self) {
        if let Some(line) = self.current.lock().expect("progress lock").take() {
            line.finish();
        }
    }
}

impl PhaseLine {
    /// Replaying counts events; catching up too, when there was anything to catch up with.
    fn counts_events(&self) -> bool {
        self.phase == Phase::Replaying || (self.phase == Phase::CatchingUp && self.done > 0)
    }

    fn finish(&self) {
        if self.counts_events() {
            self.display.finish(self.done);
        } else if self.phase != Phase::CatchingUp {
            self.display.finish_phase();
        }
    }
}
