//! The `session_data` cookie cache, byte-compatible with Better Auth's (contract 3.4), so that
//! code holding the same secret, such as a Next.js middleware calling better-auth's
//! `getCookieCache`, reads the cookies authlog writes, and the other way round.
//!
//! Three seals, chosen by `session.cookie_cache.strategy`:
//! - `compact`: `base64url(JSON {session: payload, expiresAt, signature})`, the signature being
//!   `base64url(HMAC-SHA256(secret, JSON {...payload, expiresAt}))`. The HMAC covers the JSON
//!   text, so the payload's keys and bytes must be exactly what JavaScript would write.
//! - `jwt`: an HS256 JWT of the payload plus `iat` and `exp`.
//! - `jwe`: the same claims plus a `jti`, encrypted (see `crypto::jose`).
//!
//! Values longer than one cookie holds are split into `session_data.0`, `.1`, ... as Better
//! Auth's session store does.

mod memo;
mod payload;

pub use memo::OpenedCookie;
pub use payload::CachedSession;

use std::sync::Arc;

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::config::{AuthConfig, CookieCacheConfig, CookieCacheStrategy};
use crate::crypto::jose::{DirectEncryption, Hs256};
use crate::http::cookies::{CookieNames, SetCookies};
use crate::http::reply::{SessionView, UserView};

/// Better Auth keeps every cookie line under this many bytes (Safari's limit, less room for
/// attributes), splitting the value into chunks when needed.
const MAX_COOKIE_SIZE: usize = 4050;
/// A value needing more chunks than this is not cached at all.
const MAX_COOKIE_CHUNKS: usize = 100;
/// The HKDF salt Better Auth derives the cookie cache's encryption key with.
const JWE_SALT: &str = "better-auth-session";

/// Seals and opens `session_data` cookies. Built only when the cookie cache is on.
#[derive(Debug)]
pub struct CookieCache {
    config: CookieCacheConfig,
    seal: Seal,
    memo: memo::Memo,
}

#[derive(Debug)]
enum Seal {
    Compact(CompactKey),
    Jwt(Hs256),
    Jwe(DirectEncryption),
}

/// HMAC-SHA256 keyed by the secret, for the compact signature.
struct CompactKey(Hmac<Sha256>);

impl std::fmt::Debug for CompactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompactKey(<secret>)")
    }
}

impl CookieCache {
    /// `None` when `session.cookie_cache.enabled` is off.
    pub fn new(config: &AuthConfig) -> Option<Self> {
        let cache = &config.session.cookie_cache;
        if !cache.enabled {
            return None;
        }
        let seal = match cache.strategy {
            CookieCacheStrategy::Compact => Seal::Compact(CompactKey(
                Hmac::new_from_slice(config.secret.as_bytes()).expect("HMAC takes any key"),
            )),
            CookieCacheStrategy::Jwt => Seal::Jwt(Hs256::new(&config.secret)),
            CookieCacheStrategy::Jwe => {
                Seal::Jwe(DirectEncryption::derive(&config.secret, JWE_SALT))
            }
        };
        Some(Self {
            config: cache.clone(),
            seal,
            memo: memo::Memo::default(),
        })
    }

    /// The cookie's `Max-Age`: none for a "remember me: false" session, whose cookies all
    /// end with the browser session.
    pub fn max_age(&self, dont_remember: bool) -> Option<u64> {
        (!dont_remember).then_some(self.config.max_age.as_secs())
    }

    /// The cookie value caching `session` and `user` as of `now`.
    pub fn seal(
        &self,
        session: &SessionView,
        user: &UserView,
        dont_remember: bool,
        now: DateTime<Utc>,
    ) -> String {
        let now_ms = now.timestamp_millis();
        let now_secs = now_ms.div_euclid(1000);
        let payload = payload::payload(session, user, now_ms, &self.config.version);
        // Without a Max-Age Better Auth dates the cookie 60 s (compact) or 300 s ahead.
        let lifetime = |fallback: u64| self.max_age(dont_remember).unwrap_or(fallback) as i64;
        match &self.seal {
            Seal::Compact(CompactKey(key)) => {
                let expires_at = now_ms + lifetime(60) * 1000;
                let mut signed = payload.clone();
                signed.insert("expiresAt".into(), expires_at.into());
                let signature = compact_signature(key, &signed);
                let mut cookie = Map::new();
                cookie.insert("session".into(), Value::Object(payload));
                cookie.insert("expiresAt".into(), expires_at.into());
                cookie.insert("signature".into(), signature.into());
                URL_SAFE_NO_PAD.encode(Value::Object(cookie).to_string())
            }
            Seal::Jwt(jwt) => {
                let mut claims = payload;
                claims.insert("iat".into(), now_secs.into());
                claims.insert("exp".into(), (now_secs + lifetime(300)).into());
                jwt.sign(&claims)
            }
            Seal::Jwe(jwe) => {
                let mut claims = payload;
                claims.insert("iat".into(), now_secs.into());
                claims.insert("exp".into(), (now_secs + lifetime(300)).into());
                claims.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
                jwe.encrypt(&claims)
            }
        }
    }

    /// The cached session in `value`, if it may answer for the session token `token` now:
    /// the seal holds, the payload passes the schema, it was issued for this very token and
    /// under the configured version, and neither the cookie nor the session has expired.
    /// (Whether the session was revoked since is the caller's question.)
    pub fn read(&self, value: &str, token: &str, now: DateTime<Utc>) -> Option<Arc<OpenedCookie>> {
        let opened = match self.memo.get(value) {
            Some(opened) => opened,
            None => {
                let (cached, expires_at_ms) = self.open(value, now)?;
                let answer = cached.answer().to_string().into();
                let opened = OpenedCookie {
                    cached,
                    expires_at_ms,
                    answer,
                };
                self.memo.put(value, opened)
            }
        };
        let cached = &opened.cached;
        let now_ms = now.timestamp_millis() as f64;
        let is_current = cached.token() == token
            && cached.version() == self.config.version
            && opened.expires_at_ms >= now_ms
            && cached.session_expires_at() >= now;
        is_current.then_some(opened)
    }

    /// The payload and the cookie's own expiry (ms since the epoch), if the seal holds.
    fn open(&self, value: &str, now: DateTime<Utc>) -> Option<(CachedSession, f64)> {
        let now_secs = now.timestamp_millis().div_euclid(1000);
        let (claims, expires_at_ms) = match &self.seal {
            Seal::Compact(CompactKey(key)) => {
                let bytes = URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()?;
                let Value::Object(cookie) = serde_json::from_slice(&bytes).ok()? else {
                    return None;
                };
                let payload = cookie.get("session")?.as_object()?;
                let expires_at = cookie.get("expiresAt")?;
                let signature = URL_SAFE_NO_PAD
                    .decode(cookie.get("signature")?.as_str()?)
                    .ok()?;
                // Better Auth re-serializes what it parsed; so does this, key order intact.
                let mut signed = payload.clone();
                signed.insert("expiresAt".into(), expires_at.clone());
                let mut mac = key.clone();
                mac.update(Value::Object(signed).to_string().as_bytes());
                mac.verify_slice(&signature).ok()?;
                (payload.clone(), expires_at.as_f64()?)
            }
            Seal::Jwt(jwt) => {
                let claims = jwt.verify(value, now_secs)?;
                let exp = claims.get("exp")?.as_f64()?;
                (claims, exp * 1000.0)
            }
            Seal::Jwe(jwe) => {
                let claims = jwe.decrypt(value, now_secs)?;
                let exp = claims.get("exp")?.as_f64()?;
                (claims, exp * 1000.0)
            }
        };
        Some((CachedSession::parse(&claims)?, expires_at_ms))
    }

    /// Adds the lines that (re)issue the cookie as Better Auth's session store does: every
    /// cache cookie the request carried is expired unless a new chunk of the same name
    /// replaces it in place, and the value is split when one cookie cannot hold it.
    pub fn issue(
        &self,
        cookies: &mut SetCookies,
        names: &CookieNames,
        request: &HeaderMap,
        value: &str,
        dont_remember: bool,
    ) {
        let max_age = self.max_age(dont_remember);
        let base = &names.session_data;
        let mut lines: Vec<(String, String)> = names
            .session_data_cookies(request)
            .into_iter()
            .map(|name| (name.to_owned(), names.expire(name)))
            .collect();
        let mut put = |name: String, line: String| match lines.iter_mut().find(|(n, _)| *n == name)
        {
            Some(slot) => slot.1 = line,
            None => lines.push((name, line)),
        };
        // Sized with the longest chunk name Better Auth allows, so every chunk line fits.
        let overhead = names.set(&format!("{base}.99"), "", max_age).len();
        let chunk_size = MAX_COOKIE_SIZE.saturating_sub(overhead);
        let chunk_count = if chunk_size == 0 {
            usize::MAX
        } else {
            value.len().div_ceil(chunk_size)
        };
        if chunk_count <= 1 {
            put(base.clone(), names.set(base, value, max_age));
        } else if chunk_count > MAX_COOKIE_CHUNKS {
            tracing::warn!(
                bytes = value.len(),
                "session_data is too large even in chunks; the cookie cache was skipped"
            );
        } else {
            for (index, chunk) in value.as_bytes().chunks(chunk_size).enumerate() {
                let chunk = std::str::from_utf8(chunk).expect("cookie values are ASCII");
                let name = format!("{base}.{index}");
                put(name.clone(), names.set(&name, chunk, max_age));
            }
        }
        cookies.extend(lines.into_iter().map(|(_, line)| line));
    }
}

fn compact_signature(key: &Hmac<Sha256>, signed: &Map<String, Value>) -> String {
    let mut mac = key.clone();
    mac.update(Value::Object(signed.clone()).to_string().as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests;
