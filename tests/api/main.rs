//! Black-box tests of the real server, started in-process on a random port against a fresh
//! database of the backend under test (`AUTHLOG_TEST_BACKEND=sqlite|postgres`).

// Shared harness: spawn_app, a cookie-keeping client, typed helpers.
mod helpers;

// Sign-up, sign-in and sign-out: bodies, errors, cookies, CSRF.
mod sign;
// get-session, the refresh rule, expiry, listing and revoking sessions.
mod sessions;
// update-user, change-password, delete-user, list-accounts.
mod user;
// Routing, content types, origins, error bodies.
mod http;
// Guarantees of the log: concurrency, rebuilt projections, no raw secrets at rest.
mod log;
// Projections in the server and the CLI: versions rebuilt before serving, async projections,
// `projections status|rebuild` and `events tail|show` of the built binary.
mod projections;
