//! The `authlog` binary as a library: configuration loading and the wiring of the parts, so
//! tests start the real server in-process on a random port.
//!
//! Layout:
//! - [`settings`] - `Settings` from `authlog.toml`, the environment and flags;
//!   [`mail_settings`] its mail part, `cookie_cache_settings` its cookie-cache part,
//!   `bus_settings` its `[bus]` part (NATS).
//! - [`app`] - `Application::build` (database, migrations, event store, service, listener)
//!   and `run_until_stopped`.
//! - [`cli`] - the subcommands (`serve`, `migrate`, `secret`, `info`, `projections`, `events`).
//! - [`commands`] - what the operator subcommands do: projections, events, benchmark data.

pub mod app;
mod bus_settings;
pub mod cli;
pub mod commands;
mod cookie_cache_settings;
pub mod mail_settings;
pub mod settings;
pub mod webhook_settings;

pub use app::Application;
pub use settings::Settings;
