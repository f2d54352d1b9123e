//! Provider keys from Secrets Manager (or a local file), as contract section 9 says:
//! fetched on first use, cached for a TTL, fetched once for many concurrent askers,
//! refetched when a provider says the key was rotated, and kept for a bounded grace
//! period when Secrets Manager is down.

mod source;

pub use source::Source;

use crate::error::{ApiError, Code};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A provider's API key. `Debug` and `Display` never print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One provider's entry of the secret: its key, and the entry's other fields (a
/// provider's defaults, such as a sender). Which fields there are is the provider's.
#[derive(Clone, PartialEq)]
pub struct Secret {
    provider: String,
    key: ApiKey,
    entry: Map<String, Value>,
}

impl Secret {
    /// `entry` is the provider's object in the secret (without its key field).
    pub fn new(provider: &str, key: &str, entry: Value) -> Self {
        Secret {
            provider: provider.to_string(),
            key: ApiKey(key.to_string()),
            entry: match entry {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        }
    }

    pub fn key(&self) -> &ApiKey {
        &self.key
    }

    /// A positive integer field of the entry (`sender_id`), if present.
    pub fn number(&self, field: &str) -> Result<Option<u64>, ApiError> {
        match self.entry.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| self.bad(field, "a positive integer")),
        }
    }

    /// A non-empty string field of the entry (`phone_number_id`), if present.
    pub fn text(&self, field: &str) -> Result<Option<&str>, ApiError> {
        match self.entry.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim())),
            Some(_) => Err(self.bad(field, "a non-empty string")),
        }
    }

    fn bad(&self, field: &str, what: &str) -> ApiError {
        ApiError::new(
            Code::ConfigurationError,
            format!("the secret's `{}.{field}` must be {what}", self.provider),
        )
        .with_provider(&self.provider)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&String> = self.entry.keys().collect();
        write!(f, "Secret({}, key ***, fields {fields:?})", self.provider)
    }
}

/// A fetched `SecretString`: redacted in `Debug`.
#[derive(Clone)]
struct SecretText(Arc<str>);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(***)")
    }
}

/// Where one provider's key lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    pub id: String,
    /// `true` for `PROVIDER_SECRET_ID` and the file (all providers in one JSON object);
    /// `false` for a per-provider secret (its object, or the bare key).
    pub combined: bool,
}

#[derive(Default)]
struct Slot {
    good: Option<(SecretText, Instant)>,
    /// When the last fetch started and what it gave: askers who queued behind it share it.
    last_attempt: Option<(Instant, Result<(), ApiError>)>,
}

pub struct SecretStore {
    source: Source,
    refs: HashMap<&'static str, SecretRef>,
    ttl: Duration,
    grace: Duration,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl SecretStore {
    pub fn new(
        source: Source,
        refs: HashMap<&'static str, SecretRef>,
        ttl: Duration,
        grace: Duration,
    ) -> Self {
        SecretStore {
            source,
            refs,
            ttl,
            grace,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Builds the Secrets Manager client ahead of the first secret read (no network call).
    pub async fn prepare(&self) {
        self.source.prepare().await;
    }

    /// The provider's entry of its secret (`key_field` names its key), from the cache
    /// while it is fresh.
    pub async fn secret(&self, provider: &str, key_field: &str) -> Result<Secret, ApiError> {
        let secret = self.secret_ref(provider)?;
        let text = self.text(&secret.id, None).await?;
        parse(provider, key_field, secret.combined, &text).map_err(|e| e.with_provider(provider))
    }

    /// After the provider refused the key: the entry as Secrets Manager has it now, fetched
    /// at once unless another send already replaced `rejected`.
    pub async fn refresh(
        &self,
        provider: &str,
        key_field: &str,
        rejected: &Secret,
    ) -> Result<Secret, ApiError> {
        let secret = self.secret_ref(provider)?;
        let still_rejected = |text: &SecretText| {
            parse(provider, key_field, secret.combined, text)
                .is_ok_and(|now| now.key == rejected.key)
        };
        let text = self.text(&secret.id, Some(&still_rejected)).await?;
        parse(provider, key_field, secret.combined, &text).map_err(|e| e.with_provider(provider))
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
    fn stale_or(&self, slot: &Slot, error: ApiError) -> Result<SecretText, ApiError> {
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

/// Reads one provider's entry out of a secret's text (contract section 9): from the
/// combined secret its object; from a per-provider secret its object, the combined shape,
/// or the bare key.
fn parse(
    provider: &str,
    key_field: &str,
    combined: bool,
    text: &SecretText,
) -> Result<Secret, ApiError> {
    let config = |message: String| ApiError::new(Code::ConfigurationError, message);
    let trimmed = text.0.trim();
    let json: Option<Value> = serde_json::from_str(trimmed).ok();
    let entry = match (combined, &json) {
        (true, None) => return Err(config("the provider secret is not valid JSON".into())),
        (true, Some(all)) => all
            .get(provider)
            .ok_or_else(|| config(format!("the provider secret has no `{provider}` entry")))?,
        // A per-provider secret may also hold the combined shape.
        (false, Some(all @ Value::Object(map))) => {
            map.get(provider).filter(|v| v.is_object()).unwrap_or(all)
        }
        (false, _) if trimmed.starts_with('{') => {
            return Err(config(format!("the {provider} secret is not valid JSON")))
        }
        (false, _) if trimmed.is_empty() || trimmed.contains(char::is_whitespace) => {
            return Err(config(format!(
                "the {provider} secret is neither a JSON object nor a bare key"
            )))
        }
        (false, _) => return Ok(Secret::new(provider, trimmed, Value::Null)),
    };
    let key = entry
        .get(key_field)
        .and_then(Value::as_str)
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| {
            config(format!(
                "the secret's `{provider}.{key_field}` is missing or empty"
            ))
        })?;
    let mut rest = entry.clone();
    if let Value::Object(map) = &mut rest {
        map.remove(key_field);
    }
    Ok(Secret::new(provider, key.trim(), rest))
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
