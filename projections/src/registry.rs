//! Which projections a server runs, and how.
//!
//! Registering an async projection is one line in [`Registry::standard`] (plus a migration
//! for its tables): the server then runs it in the background with a checkpoint, the CLI
//! shows its lag and rebuilds it, and a new version is rebuilt at start-up. See README
//! ("Projections").

use std::sync::Arc;

use crate::{accounts, audit, sessions, users, verifications, Projection};

/// How a projection is kept up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Inside the append transaction: the tables are current the moment a command commits.
    Inline,
    /// By the runner, following the log a moment behind.
    Async,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inline => "inline",
            Self::Async => "async",
        }
    }
}

/// The projections of one server, by mode.
#[derive(Clone)]
pub struct Registry {
    inline: Vec<Arc<dyn Projection>>,
    asynchronous: Vec<Arc<dyn Projection>>,
}

impl Registry {
    /// What `authlog serve` runs: the core tables inline, and the async projections.
    pub fn standard() -> Self {
        Self {
            inline: vec![
                Arc::new(users::Users),
                Arc::new(sessions::Sessions),
                Arc::new(accounts::Accounts),
                Arc::new(verifications::Verifications),
            ],
            asynchronous: vec![Arc::new(audit::AuditLog)],
        }
    }

    /// A registry of exactly these projections (tests, embedders with their own set).
    pub fn new(inline: Vec<Arc<dyn Projection>>, asynchronous: Vec<Arc<dyn Projection>>) -> Self {
        Self {
            inline,
            asynchronous,
        }
    }

    /// Adds a projection the runner keeps up to date in the background.
    pub fn with_async(mut self, projection: Arc<dyn Projection>) -> Self {
        self.asynchronous.push(projection);
        self
    }

    pub fn inline(&self) -> &[Arc<dyn Projection>] {
        &self.inline
    }

    pub fn asynchronous(&self) -> &[Arc<dyn Projection>] {
        &self.asynchronous
    }

    /// Every projection with its mode, inline ones first.
    pub fn all(&self) -> impl Iterator<Item = (&Arc<dyn Projection>, Mode)> {
        self.inline
            .iter()
            .map(|projection| (projection, Mode::Inline))
            .chain(
                self.asynchronous
                    .iter()
                    .map(|projection| (projection, Mode::Async)),
            )
    }

    /// The projection called `name`.
    pub fn find(&self, name: &str) -> Option<(Arc<dyn Projection>, Mode)> {
        self.all()
            .find(|(projection, _)| projection.name() == name)
            .map(|(projection, mode)| (projection.clone(), mode))
    }

    /// The names, for error messages and help.
    pub fn names(&self) -> Vec<&'static str> {
        self.all()
            .map(|(projection, _)| projection.name())
            .collect()
    }
}
