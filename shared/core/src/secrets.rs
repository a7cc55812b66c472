//! The Meta credentials secret and the cache every reader goes through.
//!
//! The secret is read through a short-TTL cache so a rotation or an operator's fix is picked up
//! within minutes without a redeploy. A forced refresh is available for "the token was refused" and
//! a rate-limited one for "the signature did not match", so forged requests cannot hammer Secrets
//! Manager.
//!
//! A read that fails (Secrets Manager throttled, timed out, unreachable) does not fail the caller
//! while the last good value is recent: it is served for up to [`STALE_GRACE_SECONDS`] past its
//! TTL, counted as `SecretStaleServed`, and the source is asked again at most every
//! [`STALE_RETRY_SECONDS`] meanwhile (so an outage does not cost every request a timed-out read).
//! Without this a Secrets Manager blip turned every webhook into a 500. The bound keeps a rotated
//! or revoked credential from living on indefinitely: 15 minutes is longer than the blips seen in
//! practice, and short beside the hours between a token rotation and the old token's expiry.
//! Only a failed *read* is forgiven: a secret that reads but does not parse (an operator's broken
//! edit) fails at once, so the mistake shows instead of hiding behind the old value.

use crate::clock::Clock;
use crate::error::PortError;
use crate::metrics::Metrics;
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::Mutex;

/// The JSON stored in the secret named by `META_SECRET_ID`.
#[derive(Clone, Deserialize)]
pub struct MetaSecret {
    #[serde(default)]
    pub app_id: String,
    pub app_secret: String,
    pub verify_token: String,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub previous_app_secret: Option<String>,
    #[serde(default)]
    pub system_user_id: Option<String>,
}

impl std::fmt::Debug for MetaSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaSecret")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("verify_token", &"<redacted>")
            .field("access_token", &"<redacted>")
            .field(
                "previous_app_secret",
                &self.previous_app_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Why a secret could not be had. Never carries the secret's text.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Source(#[from] PortError),
    #[error("secret {secret_id} is not valid JSON of the expected shape (field or syntax error at line {line}, column {column})")]
    Malformed {
        secret_id: String,
        line: usize,
        column: usize,
    },
    #[error("secret {secret_id} has an empty {field}")]
    Empty {
        secret_id: String,
        field: &'static str,
    },
}

impl MetaSecret {
    /// Parses and checks the secret; reports the field, never the value.
    pub fn parse(secret_id: &str, text: &str) -> Result<Self, SecretError> {
        let secret: MetaSecret =
            serde_json::from_str(text).map_err(|e| SecretError::Malformed {
                secret_id: secret_id.to_owned(),
                line: e.line(),
                column: e.column(),
            })?;
        for (field, value) in [
            ("app_secret", &secret.app_secret),
            ("verify_token", &secret.verify_token),
        ] {
            if value.is_empty() {
                return Err(SecretError::Empty {
                    secret_id: secret_id.to_owned(),
                    field,
                });
            }
        }
        Ok(secret)
    }
}

struct Cached<T> {
    value: Arc<T>,
    fetched_at: i64,
    /// When the last failed read happened (reads are then retried at most every
    /// [`STALE_RETRY_SECONDS`] while the stale value is served).
    failed_at: Option<i64>,
}

/// A TTL cache over one secret, parsed by `parse`.
pub struct SecretCache<T> {
    source: Arc<dyn SecretSource>,
    clock: Arc<dyn Clock>,
    secret_id: String,
    ttl_seconds: i64,
    parse: fn(&str, &str) -> Result<T, SecretError>,
    cached: Mutex<Option<Cached<T>>>,
    last_forced_refresh: Mutex<Option<i64>>,
    metrics: Option<Arc<dyn Metrics>>,
}

/// How long a cached secret is trusted before it is read again.
pub const DEFAULT_SECRET_TTL_SECONDS: i64 = 300;

/// How long past its TTL the last good value is still served when reading the secret fails
/// (module docs: why 15 minutes).
pub const STALE_GRACE_SECONDS: i64 = 15 * 60;

/// While a stale value is served, the source is asked again at most this often.
pub const STALE_RETRY_SECONDS: i64 = 30;

impl<T: Send + Sync> SecretCache<T> {
    pub fn new(
        source: Arc<dyn SecretSource>,
        clock: Arc<dyn Clock>,
        secret_id: impl Into<String>,
        ttl_seconds: i64,
        parse: fn(&str, &str) -> Result<T, SecretError>,
    ) -> Self {
        Self {
            source,
            clock,
            secret_id: secret_id.into(),
            ttl_seconds,
            parse,
            cached: Mutex::new(None),
            last_forced_refresh: Mutex::new(None),
            metrics: None,
        }
    }

    /// Counts `SecretStaleServed` on `metrics` whenever a stale value stands in for a failed read.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The cached value, read again when older than the TTL.
    pub async fn get(&self) -> Result<Arc<T>, SecretError> {
        let now = self.clock.now_epoch_seconds();
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if now.saturating_sub(c.fetched_at) < self.ttl_seconds {
                return Ok(c.value.clone());
            }
            // A read failed moments ago: serve the last good value without asking again yet.
            if c.failed_at
                .is_some_and(|at| now.saturating_sub(at) < STALE_RETRY_SECONDS)
                && self.within_grace(c, now)
            {
                return Ok(self.serve_stale(c));
            }
        }
        self.load(&mut cached, now).await
    }

    /// Reads the secret now, whatever the cache holds (e.g. after Graph error 190).
    pub async fn refresh(&self) -> Result<Arc<T>, SecretError> {
        let now = self.clock.now_epoch_seconds();
        let mut cached = self.cached.lock().await;
        self.load(&mut cached, now).await
    }

    /// Like [`refresh`](Self::refresh) but at most once per TTL; `Ok(None)` when a forced refresh
    /// already happened within the TTL (callers then keep their verdict).
    pub async fn refresh_rate_limited(&self) -> Result<Option<Arc<T>>, SecretError> {
        let now = self.clock.now_epoch_seconds();
        {
            let mut last = self.last_forced_refresh.lock().await;
            if let Some(at) = *last {
                if now.saturating_sub(at) < self.ttl_seconds {
                    return Ok(None);
                }
            }
            *last = Some(now);
        }
        self.refresh().await.map(Some)
    }

    async fn load(&self, slot: &mut Option<Cached<T>>, now: i64) -> Result<Arc<T>, SecretError> {
        let text = match self.source.secret_string(&self.secret_id).await {
            Ok(text) => text,
            Err(error) => {
                if let Some(cached) = slot.as_mut().filter(|c| self.within_grace(c, now)) {
                    cached.failed_at = Some(now);
                    tracing::warn!(
                        event = "secret_stale_served",
                        secret_id = %self.secret_id,
                        age_seconds = now.saturating_sub(cached.fetched_at),
                        error = %error
                    );
                    return Ok(self.serve_stale(cached));
                }
                return Err(error.into());
            }
        };
        let value = Arc::new((self.parse)(&self.secret_id, &text)?);
        *slot = Some(Cached {
            value: value.clone(),
            fetched_at: now,
            failed_at: None,
        });
        Ok(value)
    }

    /// Whether `cached` may still stand in for a failed read: at most [`STALE_GRACE_SECONDS`]
    /// past its TTL.
    fn within_grace(&self, cached: &Cached<T>, now: i64) -> bool {
        now.saturating_sub(cached.fetched_at) < self.ttl_seconds.saturating_add(STALE_GRACE_SECONDS)
    }

    fn serve_stale(&self, cached: &Cached<T>) -> Arc<T> {
        if let Some(metrics) = &self.metrics {
            metrics.count("SecretStaleServed", 1);
        }
        cached.value.clone()
    }
}

/// Parser for [`SecretCache`] of the Meta secret.
pub fn parse_meta_secret(secret_id: &str, text: &str) -> Result<MetaSecret, SecretError> {
    MetaSecret::parse(secret_id, text)
}

/// Parser for [`SecretCache`] of the contact-hash key (a plain string secret).
pub fn parse_contact_hash_key(secret_id: &str, text: &str) -> Result<Vec<u8>, SecretError> {
    if text.trim().len() < 16 {
        return Err(SecretError::Empty {
            secret_id: secret_id.to_owned(),
            field: "contact hash key (needs at least 16 characters)",
        });
    }
    Ok(text.trim().as_bytes().to_vec())
}

#[cfg(test)]
#[path = "tests/secrets.rs"]
mod tests;

/// Secrets Manager, as far as readers need it.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The current `SecretString` of a secret.
    async fn secret_string(&self, secret_id: &str) -> Result<String, PortError>;
}
