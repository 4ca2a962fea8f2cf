//! The `authlog` binary as a library: configuration loading and the wiring of the parts, so
//! tests start the real server in-process on a random port.
//!
//! Layout:
//! - [`settings`] - `Settings` from `authlog.toml`, the environment and flags.
//! - [`app`] - `Application::build` (database, migrations, event store, service, listener)
//!   and `run_until_stopped`.
//! - [`cli`] - the subcommands (`serve`, `migrate`, `secret`, `info`, `projections`, `events`).
//! - [`commands`] - what the operator subcommands do: projections, events, benchmark data.

pub mod app;
pub mod cli;
pub mod commands;
pub mod settings;

pub use app::Application;
pub use settings::Settings;
