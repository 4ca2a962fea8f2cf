//! The `[bus]` section: where events go. No NATS URL means the embedded in-process bus.

use std::time::Duration;

use anyhow::Context;
use authlog_bus::nats::NatsConfig;
use serde::Deserialize;

use crate::settings::{parse, set, Environment, Settings};

/// `[bus]` in `authlog.toml`. Durations in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BusFile {
    nats_url: Option<String>,
    stream: Option<String>,
    subject_prefix: Option<String>,
    max_age: Option<u64>,
    duplicate_window: Option<u64>,
    replicas: Option<usize>,
}

pub(crate) fn apply_file(settings: &mut Settings, file: BusFile) {
    set(&mut settings.nats_url, file.nats_url.map(Some));
    let stream = &mut settings.nats_stream;
    set(&mut stream.name, file.stream);
    set(&mut stream.subject_prefix, file.subject_prefix);
    set(&mut stream.max_age, file.max_age.map(Duration::from_secs));
    set(
        &mut stream.duplicate_window,
        file.duplicate_window.map(Duration::from_secs),
    );
    set(&mut stream.replicas, file.replicas);
}

pub(crate) fn apply_env(settings: &mut Settings, env: &dyn Environment) -> anyhow::Result<()> {
    let url = env.get("AUTHLOG_NATS_URL").or_else(|| env.get("NATS_URL"));
    set(&mut settings.nats_url, url.map(Some));
    let seconds = |name: &str| parse::<u64>(env, name).map(|s| s.map(Duration::from_secs));
    let stream = &mut settings.nats_stream;
    set(&mut stream.name, env.get("AUTHLOG_NATS_STREAM"));
    set(
        &mut stream.subject_prefix,
        env.get("AUTHLOG_NATS_SUBJECT_PREFIX"),
    );
    set(&mut stream.max_age, seconds("AUTHLOG_NATS_MAX_AGE")?);
    set(
        &mut stream.duplicate_window,
        seconds("AUTHLOG_NATS_DUPLICATE_WINDOW")?,
    );
    set(&mut stream.replicas, parse(env, "AUTHLOG_NATS_REPLICAS")?);
    Ok(())
}

impl Settings {
    /// The NATS configuration, or `None` for the embedded in-process bus.
    pub fn nats_config(&self) -> anyhow::Result<Option<NatsConfig>> {
        let Some(url) = &self.nats_url else {
            return Ok(None);
        };
        self.nats_stream
            .validate()
            .map_err(anyhow::Error::msg)
            .context("[bus] settings")?;
        Ok(Some(NatsConfig {
            url: url.clone(),
            stream: self.nats_stream.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::settings::Vars;

    #[test]
    fn no_nats_url_means_the_in_process_bus() {
        let settings = Settings::load(None, &Vars(HashMap::new())).unwrap();
        assert_eq!(settings.nats_config().unwrap(), None);
    }

    #[test]
    fn the_bus_section_and_the_environment_configure_nats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authlog.toml");
        std::fs::write(
            &path,
            "[bus]\nnats_url = \"nats://file:4222\"\nstream = \"EVENTS\"\nmax_age = 3600\n",
        )
        .unwrap();
        let env = Vars(HashMap::from([
            ("NATS_URL", "nats://env:4222"),
            ("AUTHLOG_NATS_DUPLICATE_WINDOW", "60"),
        ]));
        let config = Settings::load(Some(&path), &env)
            .unwrap()
            .nats_config()
            .unwrap()
            .unwrap();
        assert_eq!(config.url, "nats://env:4222");
        assert_eq!(config.stream.name, "EVENTS");
        assert_eq!(config.stream.subject_prefix, "auth");
        assert_eq!(config.stream.max_age, Duration::from_secs(3600));
        assert_eq!(config.stream.duplicate_window, Duration::from_secs(60));
    }

    #[test]
    fn a_stream_setting_nats_would_refuse_is_an_error_at_start() {
        let env = Vars(HashMap::from([
            ("NATS_URL", "nats://127.0.0.1:4222"),
            ("AUTHLOG_NATS_SUBJECT_PREFIX", "auth.*"),
        ]));
        let settings = Settings::load(None, &env).unwrap();
        assert!(settings.nats_config().is_err());
    }
}
