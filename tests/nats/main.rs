//! The event fan-out over NATS JetStream, end to end: the real server (in-process or the
//! `authlog` binary) against the backend under test (`AUTHLOG_TEST_BACKEND=sqlite|postgres`)
//! and a JetStream server. Without NATS these tests fail when `CI=true` and are skipped
//! with a notice otherwise.

// Shared harness: NATS servers, authlog instances, the log as it stands.
mod support;

// What subscribers and durable consumers receive, what never leaves, eviction across
// instances (shared NATS server, a stream per test).
mod delivery;
// SIGKILL during sign-ups, NATS stopped during sign-ups (a nats-server of their own).
mod faults;
// Two authlog processes: a revocation through one is refused by the other within a second,
// cookie cache on.
mod revocation;
