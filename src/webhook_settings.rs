//! `[[webhooks]]` in `authlog.toml` (one table per endpoint) and `[webhook_delivery]`;
//! `AUTHLOG_WEBHOOK_URL`, `AUTHLOG_WEBHOOK_SECRET` and `AUTHLOG_WEBHOOK_EVENTS` add one
//! endpoint from the environment.

use std::time::Duration;

use anyhow::bail;
use authlog_bus::webhooks::filter::EventFilter;
use authlog_bus::webhooks::{RetryPolicy, Webhook};
use serde::Deserialize;

use crate::settings::{parse, set, Environment, Settings};

/// One `[[webhooks]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookFile {
    url: String,
    secret: String,
    /// Event types or patterns (`user.*`, `*`); all events when absent.
    #[serde(default)]
    events: Vec<String>,
}

/// `[webhook_delivery]`. Durations in milliseconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveryFile {
    attempts: Option<u32>,
    first_backoff_ms: Option<u64>,
    timeout_ms: Option<u64>,
}

pub(crate) fn apply_file(
    settings: &mut Settings,
    webhooks: Vec<WebhookFile>,
    delivery: DeliveryFile,
) -> anyhow::Result<()> {
    for webhook in webhooks {
        settings
            .webhooks
            .push(checked(webhook.url, webhook.secret, webhook.events)?);
    }
    let retry = &mut settings.webhook_retry;
    set(&mut retry.attempts, delivery.attempts);
    set(
        &mut retry.first_backoff,
        delivery.first_backoff_ms.map(Duration::from_millis),
    );
    set(
        &mut retry.request_timeout,
        delivery.timeout_ms.map(Duration::from_millis),
    );
    Ok(())
}

pub(crate) fn apply_env(settings: &mut Settings, env: &dyn Environment) -> anyhow::Result<()> {
    if let Some(url) = env.get("AUTHLOG_WEBHOOK_URL") {
        let Some(secret) = env.get("AUTHLOG_WEBHOOK_SECRET") else {
            bail!("AUTHLOG_WEBHOOK_URL needs AUTHLOG_WEBHOOK_SECRET to sign the calls");
        };
        let events = env
            .get("AUTHLOG_WEBHOOK_EVENTS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        settings.webhooks.push(checked(url, secret, events)?);
    }
    set(
        &mut settings.webhook_retry.attempts,
        parse(env, "AUTHLOG_WEBHOOK_ATTEMPTS")?,
    );
    Ok(())
}

fn checked(url: String, secret: String, events: Vec<String>) -> anyhow::Result<Webhook> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        bail!("webhook URL {url:?} must be http:// or https://");
    }
    if secret.len() < 16 {
        bail!("the secret of webhook {url} must have at least 16 characters");
    }
    Ok(Webhook {
        url,
        secret,
        events: EventFilter::new(events),
    })
}

/// Defaults for [`Settings`].
pub(crate) fn default_retry() -> RetryPolicy {
    RetryPolicy::default()
}
