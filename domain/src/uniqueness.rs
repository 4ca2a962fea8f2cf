//! Unique claims implied by events. The event store turns each claim into a row of its
//! `unique_constraints` table (holding an HMAC of the value, never the value) in the same
//! transaction as the events, so two sign-ups of one email cannot both commit.

/// The kinds of values that must be unique across all streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueKind {
    UserEmail,
}

impl UniqueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserEmail => "user.email",
        }
    }
}

/// Take or give back a unique value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UniqueClaim {
    Claim {
        kind: UniqueKind,
        value: String,
        owner: String,
    },
    Release {
        kind: UniqueKind,
        value: String,
    },
}
