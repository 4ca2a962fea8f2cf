//! The ceiling of an HTTP server on this machine: axum on a multi-threaded tokio runtime
//! answering a constant body, with no database, no cookies and no crypto.
//!
//! Benchmarked with the same wrk script as the auth servers (`GET /api/auth/get-session`), it
//! shows how much of the cores wrk and the HTTP stack alone take, so a server's get-session
//! figure can be read as a share of what is reachable at all.

use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use serde_json::{json, Value};

/// A bare axum server answering `{"ok":true}`.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// Port to listen on, on 127.0.0.1 only.
    #[arg(long, default_value_t = 3999)]
    port: u16,
}

// `#[tokio::main]` starts the multi-threaded runtime with one worker per core, as authlog does.
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    // `/api/auth/ok` lets the benchmark script wait for readiness as it does for the others.
    let app = Router::new()
        .route("/", get(ok))
        .route("/api/auth/ok", get(ok))
        .route("/api/auth/get-session", get(ok));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    axum::serve(listener, app).await
}

async fn ok() -> Json<Value> {
    Json(json!({ "ok": true }))
}
