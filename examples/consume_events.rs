//! A downstream service's view of authlog: prints every `auth.user.created` event.
//!
//! ```text
//! authlog serve --nats-url nats://127.0.0.1:4222     # in one terminal
//! cargo run --example consume_events                  # in another; then sign someone up
//! cargo run --example consume_events -- --from-start 'auth.>'
//! ```
//!
//! `NATS_URL` (default `nats://127.0.0.1:4222`) and `AUTHLOG_NATS_STREAM` (default
//! `AUTH_EVENTS`) say where to read; the optional argument is the subject filter.
//!
//! It depends on nothing from authlog: the envelope below is written from `docs/events.md`,
//! as a service in any language would. It reads through an ordered consumer, which the
//! server forgets when the program exits; a real service uses a durable consumer (a
//! `durable_name`), acks each message after its side effect, and skips event ids it has
//! already handled (delivery is at least once).

// An example program: printing is its whole job.
#![allow(clippy::print_stdout)]

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures_util::StreamExt;
use serde::Deserialize;

/// Envelope version 1 (docs/events.md).
#[derive(Debug, Deserialize)]
struct Envelope {
    envelope: u32,
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    version: u32,
    occurred_at: chrono::DateTime<chrono::Utc>,
    aggregate_id: String,
    actor: serde_json::Value,
    data: serde_json::Value,
}

/// `data` of `user.created`, version 1.
#[derive(Debug, Deserialize)]
struct UserCreated {
    user_id: String,
    email: String,
    name: String,
    email_verified: bool,
}

#[tokio::main]
async fn main() -> Result<(), async_nats::Error> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let stream_name =
        std::env::var("AUTHLOG_NATS_STREAM").unwrap_or_else(|_| "AUTH_EVENTS".to_owned());
    let mut from_start = false;
    let mut subject = "auth.user.created".to_owned();
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--from-start" => from_start = true,
            filter => subject = filter.to_owned(),
        }
    }

    let client = async_nats::connect(&url).await?;
    let jetstream = async_nats::jetstream::new(client);
    let stream = jetstream.get_stream(&stream_name).await?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: subject.clone(),
            deliver_policy: if from_start {
                DeliverPolicy::All
            } else {
                DeliverPolicy::New
            },
            ..Default::default()
        })
        .await?;
    println!("reading {subject} from stream {stream_name} at {url}");

    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let envelope: Envelope = match serde_json::from_slice(&message.payload) {
            Ok(envelope) => envelope,
            Err(error) => {
                println!("{}: not an envelope ({error})", message.subject);
                continue;
            }
        };
        if envelope.envelope != 1 {
            println!(
                "{}: envelope version {} is unknown here",
                message.subject, envelope.envelope
            );
            continue;
        }
        match (envelope.event_type.as_str(), envelope.version) {
            ("user.created", 1) => {
                let user: UserCreated = serde_json::from_value(envelope.data)?;
                println!(
                    "{} user.created user_id={} email={} name={:?} verified={} event={}",
                    envelope.occurred_at.to_rfc3339(),
                    user.user_id,
                    user.email,
                    user.name,
                    user.email_verified,
                    envelope.id,
                );
            }
            (event_type, version) => println!(
                "{} {event_type} v{version} aggregate={} actor={} data={} event={}",
                envelope.occurred_at.to_rfc3339(),
                envelope.aggregate_id,
                envelope.actor,
                envelope.data,
                envelope.id,
            ),
        }
    }
    Ok(())
}
