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
// Email verification, password reset and email change, through the development mailbox.
mod email;
// Before hooks that veto actions.
mod hooks;
// Webhooks: signed calls, retries and dead letters.
mod webhooks;
// The audit trail and who may read it.
mod audit;
// Routing, content types, origins, error bodies.
mod http;
// The session_data cookie cache: strategies, hits, refusals, chunking, version bumps.
mod cookie_cache;
// The revocation set the cookie-cache path checks, here and on other instances.
mod revocation;
// Guarantees of the log: concurrency, rebuilt projections, no raw secrets at rest.
mod log;
// Projections in the server and the CLI: versions rebuilt before serving, async projections,
// `projections status|rebuild` and `events tail|show` of the built binary.
mod projections;
