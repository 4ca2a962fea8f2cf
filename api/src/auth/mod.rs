//! `Auth`: the application service. Each method is one Better Auth operation; the router
//! calls them, and so can Rust code embedding authlog (as `auth.api` in Better Auth).
//!
//! Every state change follows the same path: read the rows the decision needs from the
//! inline projections, rebuild the aggregates from those rows, let the domain decide,
//! append the events (plus unique claims) in one transaction, and retry from the top if
//! another request moved one of the streams first.

mod accounts;
mod audit;
mod cache;
mod change_email;
mod context;
mod email_verification;
pub mod hooks;
mod password_reset;
mod revocations;
mod session;
mod sign_in;
mod sign_up;
mod user;
mod verification;

pub use context::{Clock, RequestContext};
pub use email_verification::VerifiedEmail;
pub use session::{CurrentSession, ListedSession, NewSession, SessionOptions};
pub use sign_in::SignInEmail;
pub use sign_up::{SignUpEmail, SignUpOutcome};
pub use user::{ChangePassword, ProfileChanges};

use std::sync::Arc;

use authlog_domain::services::PasswordHasher;
use authlog_eventstore::tokens::TokenKey;
use authlog_eventstore::{AppendError, AppendRequest, EventStore, RecordedEvent};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;

use crate::config::AuthConfig;
use crate::crypto::password::Argon2Pool;
use crate::crypto::signing::CookieSigner;
use crate::error::{AuthError, ErrorCode};

/// How often a command is decided again after another request moved one of its streams.
const MAX_ATTEMPTS: usize = 5;

/// The application service. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: EventStore,
    config: AuthConfig,
    passwords: Argon2Pool,
    signer: CookieSigner,
    clock: Clock,
    cache: cache::SessionCache,
    tokens: TokenKey,
    before_hooks: Vec<Arc<dyn hooks::BeforeHook>>,
    revocations: revocations::RevocationSet,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("base_url", &self.inner.config.base_url)
            .finish()
    }
}

impl Auth {
    /// Builds the service and starts its password hashing pool.
    pub async fn new(
        store: EventStore,
        config: AuthConfig,
        clock: Clock,
    ) -> Result<Self, AuthError> {
        let tokens = TokenKey::load_or_create(store.db()).await?;
        let passwords = Argon2Pool::start(config.password_hashing)
            .map_err(|e| AuthError::internal(format!("argon2 parameters: {e}")))?;
        let signer = CookieSigner::new(&config.secret);
        let cache =
            cache::SessionCache::new(config.session.cache_ttl, config.session.cache_capacity);
        let cookie_cache = &config.session.cookie_cache;
        let revocations = revocations::RevocationSet::new(
            cookie_cache.enabled,
            cookie_cache.longest_cookie_lifetime(),
            cookie_cache.revocation_capacity,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config,
                passwords,
                signer,
                clock,
                cache,
                tokens,
                before_hooks: Vec::new(),
                revocations,
            }),
        })
    }

    /// Adds before hooks (see [`hooks`]). Call before the service is shared.
    ///
    /// # Panics
    /// If the service was already cloned.
    pub fn with_before_hooks(mut self, before_hooks: Vec<Arc<dyn hooks::BeforeHook>>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("add hooks before sharing the service")
            .before_hooks
            .extend(before_hooks);
        self
    }

    /// Asks every before hook whether `action` may go ahead.
    pub(crate) async fn before(&self, action: hooks::Action<'_>) -> Result<(), AuthError> {
        for hook in &self.inner.before_hooks {
            hook.before(&action).await?;
        }
        Ok(())
    }

    /// Whether `user` is an administrator (configured by id, or by verified email).
    pub fn is_admin(&self, user: &authlog_projections::read::UserRow) -> bool {
        let admin = &self.config().admin;
        admin.user_ids.contains(&user.id)
            || (user.email_verified
                && admin
                    .emails
                    .iter()
                    .any(|email| email.eq_ignore_ascii_case(&user.email)))
    }

    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &EventStore {
        &self.inner.store
    }

    pub fn signer(&self) -> &CookieSigner {
        &self.inner.signer
    }

    pub(crate) fn tokens(&self) -> &TokenKey {
        &self.inner.tokens
    }

    pub(crate) fn cache(&self) -> &cache::SessionCache {
        &self.inner.cache
    }

    pub(crate) fn passwords(&self) -> &Argon2Pool {
        &self.inner.passwords
    }

    pub(crate) fn hasher(&self) -> Arc<dyn PasswordHasher> {
        Arc::new(self.inner.passwords.clone())
    }

    /// Takes in events committed by *other* instances (the event fan-out calls this for
    /// every event it delivers): drops the sessions they changed from the in-process cache
    /// and records their revocations (`session.revoked`, `user.deleted`) in the set the
    /// cookie-cache path checks, so a session revoked anywhere stops being answered from its
    /// `session_data` cookie here as soon as the event arrives, not after `maxAge`.
    ///
    /// This process's own commits are handled in `append`; feeding them again is harmless
    /// (both steps are idempotent), so a subscriber need not filter them out.
    pub fn note_remote_events(&self, events: &[RecordedEvent]) {
        self.inner.cache.evict(events);
        self.inner.revocations.note(events);
    }

    /// Whether a `session_data` cookie for this session and user must be refused because
    /// the session was revoked or the user deleted since it could have been issued.
    pub(crate) fn is_revoked(&self, session_id: &str, user_id: &str) -> bool {
        self.inner.revocations.is_revoked(session_id, user_id)
    }

    /// Whether a `session_data` cookie's copy of the user (last updated at `user_updated_at`)
    /// predates a change to that user (profile, email, verification) this instance heard of.
    pub(crate) fn is_outdated(&self, user_id: &str, user_updated_at: DateTime<Utc>) -> bool {
        self.inner.revocations.is_outdated(user_id, user_updated_at)
    }

    /// Now, to the millisecond (the precision every table stores).
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Appends, mapping store failures onto Better Auth errors. `Conflict` is returned as
    /// `None` so the caller can decide again.
    pub(crate) async fn append(
        &self,
        request: AppendRequest,
    ) -> Result<Option<Vec<RecordedEvent>>, AuthError> {
        match self.inner.store.append(request).await {
            Ok(events) => {
                self.inner.cache.evict(&events);
                self.inner.revocations.note(&events);
                Ok(Some(events))
            }
            Err(AppendError::Conflict { .. }) => Ok(None),
            Err(AppendError::Taken { kind: "user.email" }) => {
                Err(ErrorCode::USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL.into())
            }
            Err(AppendError::Taken { kind }) => Err(AuthError::internal(format!(
                "unique value of kind {kind} taken"
            ))),
            Err(AppendError::Store(error)) => Err(error.into()),
        }
    }
}

/// Runs an aggregate's command handler and returns the events it decided, or its error.
pub(crate) async fn decide<A: Aggregate>(
    mut aggregate: A,
    command: A::Command,
    services: &A::Services,
) -> Result<Vec<A::Event>, A::Error> {
    let sink = EventSink::default();
    aggregate.handle(command, services, &sink).await?;
    Ok(sink.collect().await)
}

/// The unique claims of events decided for user `user_id`.
pub(crate) fn user_claims(
    events: &[authlog_domain::user::UserEvent],
    user_id: &str,
) -> Vec<authlog_domain::uniqueness::UniqueClaim> {
    let user_id = authlog_domain::values::UserId::new(user_id.to_owned());
    events
        .iter()
        .flat_map(|event| event.unique_claims(&user_id))
        .collect()
}

/// The error for a command that lost the race `MAX_ATTEMPTS` times in a row.
pub(crate) fn too_much_contention() -> AuthError {
    AuthError::internal("gave up after repeated concurrent updates of the same stream")
}
