//! Where a request comes from, and what time it is.

use std::sync::Arc;

use authlog_eventstore::{from_millis, Actor, Metadata};
use chrono::{DateTime, Utc};

/// The caller's address and client, recorded on every event and on new sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// Better Auth's rule: the `x-forwarded-for` address when it holds exactly one valid
    /// IP (IPv6 masked to /64), else `""`.
    pub ip_address: String,
    /// The `User-Agent` header, or `""`.
    pub user_agent: String,
    pub request_id: Option<String>,
}

impl RequestContext {
    pub fn metadata(&self, actor: Actor) -> Metadata {
        let non_empty = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        Metadata {
            actor,
            request_id: self.request_id.clone(),
            ip_address: non_empty(&self.ip_address),
            user_agent: non_empty(&self.user_agent),
        }
    }
}

/// The time source. Tests move it forward to expire and refresh sessions.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// A clock that reads `source`, for tests.
    pub fn from_fn(source: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(source))
    }

    /// Now, truncated to the millisecond so that what is returned equals what is stored.
    pub fn now(&self) -> DateTime<Utc> {
        from_millis((self.0)().timestamp_millis())
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}
