//! The real `Secrets`: the cache in front of Secrets Manager or the local file.

use super::parse::{self, parse};
use super::secret::{FingerprintKey, Secret, SecretRef, SecretText, Secrets};
use super::source::Source;
use crate::error::{ApiError, Code};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct CacheSlot {
    good: Option<(SecretText, Instant)>,
    /// When the last fetch started and what it gave: askers who queued behind it share it.
    last_attempt: Option<(Instant, Result<(), ApiError>)>,
}

/// Secrets as Secrets Manager (or the local file) has them: fetched on first use, cached for
/// a TTL, fetched once for many concurrent askers, refetched when a provider says the key
/// was rotated, and kept for a bounded grace period when Secrets Manager is down.
pub struct SecretStore {
    source: Source,
    refs: HashMap<&'static str, SecretRef>,
    /// Where the fingerprint key lives: `FINGERPRINT_SECRET_ID` (the whole string), or the
    /// combined secret's `"wa-dispatch"` entry.
    fingerprint: Option<SecretRef>,
    /// `WEBHOOK_SECRET_ID`: where the webhooks' proofs are read, and nothing else.
    webhook: Option<SecretRef>,
    ttl: Duration,
    grace: Duration,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<CacheSlot>>>>,
}

impl SecretStore {
    pub fn new(
        source: Source,
        refs: HashMap<&'static str, SecretRef>,
        fingerprint: Option<SecretRef>,
        webhook: Option<SecretRef>,
        ttl: Duration,
        grace: Duration,
    ) -> Self {
        SecretStore {
            source,
            refs,
            fingerprint,
            webhook,
            ttl,
            grace,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The provider's entry of its secret (`key_field` names its key), from the cache
    /// while it is fresh.
    async fn secret_of(&self, provider: &str, key_field: &str) -> Result<Secret, ApiError> {
        let secret = self.secret_ref(provider)?;
        let text = self.text(&secret.id, None).await?;
        parse(provider, key_field, secret.combined, &text).map_err(|e| e.with_provider(provider))
    }

    /// After the provider refused the key: the entry as Secrets Manager has it now, fetched
    /// at once unless another send already replaced `rejected`.
    async fn refresh_of(
        &self,
        provider: &str,
        key_field: &str,
        rejected: &Secret,
    ) -> Result<Secret, ApiError> {
        let secret = self.secret_ref(provider)?;
        let still_rejected = |text: &SecretText| {
            parse(provider, key_field, secret.combined, text)
                .is_ok_and(|now| now.key() == rejected.key())
        };
        let text = self.text(&secret.id, Some(&still_rejected)).await?;
        parse(provider, key_field, secret.combined, &text).map_err(|e| e.with_provider(provider))
    }

    async fn fingerprint_key_of(&self) -> Result<FingerprintKey, ApiError> {
        let secret = self.fingerprint.as_ref().ok_or_else(|| {
            ApiError::new(
                Code::ConfigurationError,
                "no idempotency fingerprint key: set FINGERPRINT_SECRET_ID or put \
                 `\"wa-dispatch\": {\"fingerprint_key\": ...}` in the provider secret",
            )
        })?;
        let text = self.text(&secret.id, None).await?;
        parse::fingerprint_key(secret.combined, &text)
    }

    async fn webhook_of(&self, provider: &str, key_field: &str) -> Result<Secret, ApiError> {
        let Some(secret) = &self.webhook else {
            return self.secret_of(provider, key_field).await;
        };
        let text = self.text(&secret.id, None).await?;
        parse::webhook_entry(provider, key_field, &text).map_err(|e| e.with_provider(provider))
    }

    fn secret_ref(&self, provider: &str) -> Result<&SecretRef, ApiError> {
        self.refs.get(provider).ok_or_else(|| {
            ApiError::new(
                Code::ConfigurationError,
                format!("no secret is configured for {provider}"),
            )
            .with_provider(provider)
        })
    }

    async fn text(
        &self,
        id: &str,
        rejected: Option<&(dyn Fn(&SecretText) -> bool + Sync)>,
    ) -> Result<SecretText, ApiError> {
        let asked_at = Instant::now();
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            match slots.get(id) {
                Some(slot) => slot.clone(),
                None => slots.entry(id.to_string()).or_default().clone(),
            }
        };
        // Held across the fetch: one fetch per secret at a time, however many ask.
        let mut slot = slot.lock().await;
        if let Some((text, at)) = &slot.good {
            let fresh = at.elapsed() < self.ttl;
            let still_rejected = rejected.is_some_and(|refused| refused(text));
            if fresh && !still_rejected {
                return Ok(text.clone());
            }
        }
        if let Some((started, result)) = &slot.last_attempt {
            // A fetch that began after we asked has already answered for us.
            if *started >= asked_at {
                if let Err(error) = result {
                    return self.stale_or(&slot, error.clone());
                }
                if let Some((text, _)) = &slot.good {
                    return Ok(text.clone());
                }
            }
        }
        let started = Instant::now();
        match self.source.fetch(id).await {
            Ok(text) => {
                let text = SecretText(text.into());
                slot.good = Some((text.clone(), Instant::now()));
                slot.last_attempt = Some((started, Ok(())));
                Ok(text)
            }
            Err(error) => {
                slot.last_attempt = Some((started, Err(error.clone())));
                self.stale_or(&slot, error)
            }
        }
    }

    /// When a refetch fails, the last good secret serves for `grace` past its TTL.
    fn stale_or(&self, slot: &CacheSlot, error: ApiError) -> Result<SecretText, ApiError> {
        match &slot.good {
            Some((text, at))
                if error.code == Code::SecretUnavailable
                    && at.elapsed() < self.ttl + self.grace =>
            {
                tracing::warn!(
                    age_s = at.elapsed().as_secs(),
                    reason = %error.message,
                    "Secrets Manager unreachable: using the last good secret within its grace period"
                );
                Ok(text.clone())
            }
            _ => Err(error),
        }
    }
}

impl Secrets for SecretStore {
    fn prepare(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.source.prepare())
    }

    fn secret<'a>(
        &'a self,
        provider: &'a str,
        key_field: &'a str,
    ) -> BoxFuture<'a, Result<Secret, ApiError>> {
        Box::pin(self.secret_of(provider, key_field))
    }

    fn refresh<'a>(
        &'a self,
        provider: &'a str,
        key_field: &'a str,
        rejected: &'a Secret,
    ) -> BoxFuture<'a, Result<Secret, ApiError>> {
        Box::pin(self.refresh_of(provider, key_field, rejected))
    }

    fn fingerprint_key(&self) -> BoxFuture<'_, Result<FingerprintKey, ApiError>> {
        Box::pin(self.fingerprint_key_of())
    }

    fn webhook<'a>(
        &'a self,
        provider: &'a str,
        key_field: &'a str,
    ) -> BoxFuture<'a, Result<Secret, ApiError>> {
        Box::pin(self.webhook_of(provider, key_field))
    }
}
