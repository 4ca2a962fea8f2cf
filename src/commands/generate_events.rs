//! `authlog dev generate-events` (hidden): a large, realistic log for the replay benchmark.
//!
//! Signing a million events in through HTTP would take hours of Argon2id, so this appends
//! the events the service would decide, directly through the event store: the same
//! `EventStore::append_all` transaction as every command (unique claims, inline projections),
//! so the live tables are exactly what the server would have built and a rebuild can be
//! compared against them. Each simulated command keeps its own metadata and time; many
//! commands share one transaction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use authlog_domain::account::AccountEvent;
use authlog_domain::session::{RevokeReason, SessionEvent};
use authlog_domain::user::{SignInFailure, UserEvent};
use authlog_domain::values::{AccountId, Email, Name, PasswordHash, SessionId, TokenHash, UserId};
use authlog_eventstore::{Actor, AppendRequest, EventStore, Metadata};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub users: u64,
    pub events: u64,
    pub seed: u64,
    /// Concurrent appenders (PostgreSQL overlaps their round trips; SQLite has one writer).
    pub jobs: u64,
    /// Commands per transaction.
    pub commands_per_transaction: usize,
}

/// A stored Argon2id hash of "correct-horse-battery": every generated user shares it, since
/// hashing a million passwords would dominate the run and nothing here signs in for real.
const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$mM3RPxX0Sn3Yq1+9zRjmXNRaG+6l0ZqAsy1qsb5Ts4Q";
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "better-auth-client/1.7.25 node/20.15.0",
];
/// Sessions a simulated user keeps open before signing out becomes the likely next step.
const MAX_OPEN_SESSIONS: usize = 4;

/// Appends `options.events` events (a few more: the last command completes) and returns how
/// many were appended. `progress` is called after every transaction with the running total.
pub async fn generate_events(
    store: &EventStore,
    options: &GenerateOptions,
    progress: Arc<dyn Fn(u64) + Send + Sync>,
) -> anyhow::Result<u64> {
    let jobs = options.jobs.max(1);
    let appended = Arc::new(AtomicU64::new(0));
    let start = Utc::now() - Duration::days(30);
    let mut runs = tokio::task::JoinSet::new();
    for job in 0..jobs {
        let users = options.users / jobs + u64::from(job < options.users % jobs);
        let events = options.events / jobs + u64::from(job < options.events % jobs);
        let mut simulation = Simulation::new(job, options.seed, users, events, start);
        let per_transaction = options.commands_per_transaction.max(1);
        let (store, appended, progress) = (store.clone(), appended.clone(), progress.clone());
        runs.spawn(async move {
            let mut batch = Vec::with_capacity(per_transaction);
            loop {
                let next = simulation.next_command();
                let done = next.is_none();
                batch.extend(next);
                if batch.len() == per_transaction || (done && !batch.is_empty()) {
                    let recorded = store.append_all(&batch).await?;
                    batch.clear();
                    let count = recorded.len() as u64;
                    progress(appended.fetch_add(count, Ordering::SeqCst) + count);
                }
                if done {
                    return anyhow::Ok(());
                }
            }
        });
    }
    while let Some(run) = runs.join_next().await {
        run??;
    }
    Ok(appended.load(Ordering::SeqCst))
}

/// A user of the simulation, with the stream versions the next command appends at.
struct SimulatedUser {
    id: String,
    version: i64,
    account_id: String,
    account_version: i64,
    /// Open sessions: id and stream version.
    sessions: Vec<(String, i64)>,
}

/// One appender's users and clock.
struct Simulation {
    rng: StdRng,
    /// Seed and job make the emails unique across appenders and runs with other seeds.
    seed: u64,
    job: u64,
    users: Vec<SimulatedUser>,
    users_to_create: u64,
    events_left: u64,
    now: DateTime<Utc>,
    /// Mean milliseconds between commands: the log spans 30 days.
    step_millis: i64,
}

impl Simulation {
    fn new(job: u64, seed: u64, users: u64, events: u64, start: DateTime<Utc>) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(job)),
            seed,
            job,
            users: Vec::with_capacity(users as usize),
            users_to_create: users,
            events_left: events,
            now: start,
            step_millis: (Duration::days(30).num_milliseconds() / events.max(1) as i64).max(1),
        }
    }

    /// The next command's events, or `None` when the budget is spent.
    fn next_command(&mut self) -> Option<AppendRequest> {
        if self.events_left == 0 {
            return None;
        }
        self.now += Duration::milliseconds(self.rng.gen_range(0..=2 * self.step_millis));
        // Sign-ups are spread so that every user exists by the end (three events each).
        let sign_up_share = (self.users_to_create * 3) as f64 / self.events_left as f64;
        let request = if self.users.is_empty()
            || (self.users_to_create > 0 && self.rng.gen_bool(sign_up_share.min(1.0)))
        {
            self.sign_up()
        } else {
            let index = self.rng.gen_range(0..self.users.len());
            match self.rng.gen_range(0..100) {
                0..=35 => self.sign_in(index),
                36..=65 => self.sign_out(index),
                66..=89 => self.refresh(index),
                90..=96 => self.failed_sign_in(index),
                97..=98 => self.update_profile(index),
                _ => self.change_password(index),
            }
        };
        let events = request.streams.iter().map(|s| s.events.len() as u64).sum();
        self.events_left = self.events_left.saturating_sub(events);
        Some(request)
    }

    fn request(&mut self, actor: Actor) -> AppendRequest {
        let metadata = Metadata {
            actor,
            request_id: Some(uuid::Uuid::now_v7().to_string()),
            ip_address: Some(self.ip_address()),
            user_agent: Some(USER_AGENTS[self.rng.gen_range(0..USER_AGENTS.len())].to_owned()),
        };
        AppendRequest::new(metadata, self.now)
    }

    fn ip_address(&mut self) -> String {
        format!(
            "198.51.{}.{}",
            self.rng.gen_range(0..=255),
            self.rng.gen_range(1..=254)
        )
    }

    fn id(&mut self) -> String {
        const ALPHANUMERIC: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..32)
            .map(|_| ALPHANUMERIC[self.rng.gen_range(0..ALPHANUMERIC.len())] as char)
            .collect()
    }

    fn sign_up(&mut self) -> AppendRequest {
        let number = self.users.len();
        let user_id = self.id();
        let account_id = self.id();
        let mut request = self.request(Actor::Anonymous);
        let created = UserEvent::Created {
            user_id: UserId::new(user_id.clone()),
            email: Email::from_stored(format!(
                "user{number}.s{}.j{}@example.com",
                self.seed, self.job
            )),
            name: Name::parse(&format!("User {number}")),
            image: None,
            email_verified: false,
        };
        let claims = created.unique_claims(&UserId::new(user_id.clone()));
        request.push(&user_id, 0, &[created], claims);
        let linked = AccountEvent::Linked {
            account_id: AccountId::new(account_id.clone()),
            user_id: UserId::new(user_id.clone()),
            provider_id: "credential".to_owned(),
            provider_account_id: user_id.clone(),
            password_hash: Some(PasswordHash::new(PASSWORD_HASH.to_owned())),
        };
        request.push(&account_id, 0, &[linked], []);
        self.users.push(SimulatedUser {
            id: user_id,
            version: 1,
            account_id,
            account_version: 1,
            sessions: Vec::new(),
        });
        self.users_to_create = self.users_to_create.saturating_sub(1);
        self.open_session(&mut request, number);
        request
    }

    fn open_session(&mut self, request: &mut AppendRequest, index: usize) {
        let session_id = self.id();
        let token_hash: String = (0..64)
            .map(|_| char::from_digit(self.rng.gen_range(0..16), 16).unwrap_or('0'))
            .collect();
        let dont_remember = self.rng.gen_bool(0.1);
        let lifetime = if dont_remember {
            Duration::days(1)
        } else {
            Duration::days(7)
        };
        let metadata = request.metadata.clone();
        let created = SessionEvent::Created {
            session_id: SessionId::new(session_id.clone()),
            user_id: UserId::new(self.users[index].id.clone()),
            token_hash: TokenHash::from_hex(token_hash),
            expires_at: self.now + lifetime,
            ip_address: metadata.ip_address.unwrap_or_default(),
            user_agent: metadata.user_agent.unwrap_or_default(),
            dont_remember,
        };
        request.push(&session_id, 0, &[created], []);
        self.users[index].sessions.push((session_id, 1));
    }

    fn sign_in(&mut self, index: usize) -> AppendRequest {
        if self.users[index].sessions.len() >= MAX_OPEN_SESSIONS {
            return self.sign_out(index);
        }
        let mut request = self.request(Actor::User {
            id: self.users[index].id.clone(),
        });
        self.open_session(&mut request, index);
        request
    }

    fn sign_out(&mut self, index: usize) -> AppendRequest {
        if self.users[index].sessions.is_empty() {
            return self.sign_in(index);
        }
        let which = self.rng.gen_range(0..self.users[index].sessions.len());
        let (session_id, version) = self.users[index].sessions.swap_remove(which);
        let mut request = self.request(Actor::User {
            id: self.users[index].id.clone(),
        });
        let revoked = SessionEvent::Revoked {
            reason: RevokeReason::SignOut,
        };
        request.push(&session_id, version, &[revoked], []);
        request
    }

    fn refresh(&mut self, index: usize) -> AppendRequest {
        if self.users[index].sessions.is_empty() {
            return self.sign_in(index);
        }
        let which = self.rng.gen_range(0..self.users[index].sessions.len());
        let mut request = AppendRequest::new(
            Metadata {
                actor: Actor::User {
                    id: self.users[index].id.clone(),
                },
                request_id: None,
                ip_address: None,
                user_agent: None,
            },
            self.now,
        );
        let refreshed = SessionEvent::Refreshed {
            expires_at: self.now + Duration::days(7),
        };
        let (session_id, version) = &mut self.users[index].sessions[which];
        request.push(session_id, *version, &[refreshed], []);
        *version += 1;
        request
    }

    fn failed_sign_in(&mut self, index: usize) -> AppendRequest {
        let mut request = self.request(Actor::Anonymous);
        let user = &mut self.users[index];
        let failed = UserEvent::SignInFailed {
            reason: SignInFailure::InvalidPassword,
        };
        request.push(&user.id, user.version, &[failed], []);
        user.version += 1;
        request
    }

    fn update_profile(&mut self, index: usize) -> AppendRequest {
        let name = format!("Renamed {}", self.rng.gen_range(0..1_000_000));
        let mut request = self.request(Actor::User {
            id: self.users[index].id.clone(),
        });
        let user = &mut self.users[index];
        let updated = UserEvent::ProfileUpdated {
            name: Some(Name::parse(&name)),
            image: None,
        };
        request.push(&user.id, user.version, &[updated], []);
        user.version += 1;
        request
    }

    /// A password change that signs the user out everywhere else, as Better Auth's
    /// `revokeOtherSessions` does.
    fn change_password(&mut self, index: usize) -> AppendRequest {
        let mut request = self.request(Actor::User {
            id: self.users[index].id.clone(),
        });
        let user = &mut self.users[index];
        let changed = AccountEvent::PasswordChanged {
            password_hash: PasswordHash::new(PASSWORD_HASH.to_owned()),
        };
        request.push(&user.account_id, user.account_version, &[changed], []);
        user.account_version += 1;
        let keep = user.sessions.pop();
        for (session_id, version) in user.sessions.drain(..) {
            let revoked = SessionEvent::Revoked {
                reason: RevokeReason::PasswordChanged,
            };
            request.push(&session_id, version, &[revoked], []);
        }
        user.sessions.extend(keep);
        request
    }
}
