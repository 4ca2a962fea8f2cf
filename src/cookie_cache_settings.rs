//! Settings of the cookie cache (Better Auth's `session.cookieCache`), from the
//! `[session.cookie_cache]` section of `authlog.toml` and `AUTHLOG_COOKIE_CACHE_*` variables.

use std::time::Duration;

use authlog_api::config::{CookieCacheConfig, CookieCacheStrategy};
use serde::Deserialize;

use crate::settings::{parse, set, Environment};

/// `[session.cookie_cache]`. Durations in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CookieCacheFile {
    enabled: Option<bool>,
    max_age: Option<u64>,
    strategy: Option<String>,
    version: Option<String>,
    refresh_cache: Option<bool>,
}

pub(crate) fn apply_file(
    config: &mut CookieCacheConfig,
    file: CookieCacheFile,
) -> anyhow::Result<()> {
    set(&mut config.enabled, file.enabled);
    set(&mut config.max_age, file.max_age.map(Duration::from_secs));
    set(&mut config.version, file.version);
    set(&mut config.refresh_cache, file.refresh_cache);
    if let Some(strategy) = file.strategy {
        config.strategy = strategy
            .parse()
            .map_err(|e| anyhow::anyhow!("session.cookie_cache.strategy: {e}"))?;
    }
    Ok(())
}

pub(crate) fn apply_env(
    config: &mut CookieCacheConfig,
    env: &dyn Environment,
) -> anyhow::Result<()> {
    set(
        &mut config.enabled,
        parse(env, "AUTHLOG_COOKIE_CACHE_ENABLED")?,
    );
    let max_age = parse::<u64>(env, "AUTHLOG_COOKIE_CACHE_MAX_AGE")?.map(Duration::from_secs);
    set(&mut config.max_age, max_age);
    set(
        &mut config.strategy,
        parse::<CookieCacheStrategy>(env, "AUTHLOG_COOKIE_CACHE_STRATEGY")?,
    );
    set(&mut config.version, env.get("AUTHLOG_COOKIE_CACHE_VERSION"));
    set(
        &mut config.refresh_cache,
        parse(env, "AUTHLOG_COOKIE_CACHE_REFRESH_CACHE")?,
    );
    Ok(())
}

/// Better Auth reads `maxAge || 300`: zero means the default.
pub(crate) fn normalize(config: &mut CookieCacheConfig) {
    if config.max_age.is_zero() {
        config.max_age = Duration::from_secs(300);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::settings::{Settings, Vars};

    #[test]
    fn the_cookie_cache_comes_from_its_own_section_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authlog.toml");
        std::fs::write(
            &path,
            "[session.cookie_cache]\nenabled = true\nstrategy = \"jwe\"\nmax_age = 0\nversion = \"7\"\n",
        )
        .unwrap();
        let settings = Settings::load(Some(&path), &Vars(HashMap::new())).unwrap();
        let cookie_cache = &settings.session.cookie_cache;
        assert!(cookie_cache.enabled);
        assert_eq!(cookie_cache.strategy, CookieCacheStrategy::Jwe);
        assert_eq!(cookie_cache.version, "7");
        assert_eq!(
            cookie_cache.max_age,
            Duration::from_secs(300),
            "0 means Better Auth's default"
        );
        let env = Vars(HashMap::from([
            ("AUTHLOG_COOKIE_CACHE_STRATEGY", "jwt"),
            ("AUTHLOG_COOKIE_CACHE_MAX_AGE", "60"),
            ("AUTHLOG_COOKIE_CACHE_VERSION", "8"),
        ]));
        let settings = Settings::load(Some(&path), &env).unwrap();
        let cookie_cache = &settings.session.cookie_cache;
        assert_eq!(cookie_cache.strategy, CookieCacheStrategy::Jwt);
        assert_eq!(cookie_cache.max_age, Duration::from_secs(60));
        assert_eq!(cookie_cache.version, "8");
        let off = Settings::load(None, &Vars(HashMap::new())).unwrap();
        assert!(!off.session.cookie_cache.enabled, "off by default");
        let bad = Vars(HashMap::from([("AUTHLOG_COOKIE_CACHE_STRATEGY", "jws")]));
        assert!(Settings::load(Some(&path), &bad).is_err());
    }
}
