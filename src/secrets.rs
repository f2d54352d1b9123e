//! Provider keys from Secrets Manager (or a local file), as contract section 9 says:
//! fetched on first use, cached for a TTL, fetched once for many concurrent askers,
//! refetched when a provider says the key was rotated, and kept for a bounded grace
//! period when Secrets Manager is down.

mod source;

pub use source::Source;

use crate::error::{ApiError, Code};
use crate::providers::ProviderKind;
use serde_json::Value;
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

/// What a provider needs from its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: ApiKey,
    /// autocalls' default sender.
    pub sender_id: Option<u64>,
}

impl Credentials {
    pub fn new(key: &str, sender_id: Option<u64>) -> Self {
        Credentials {
            api_key: ApiKey(key.into()),
            sender_id,
        }
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
    refs: HashMap<ProviderKind, SecretRef>,
    ttl: Duration,
    grace: Duration,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl SecretStore {
    pub fn new(
        source: Source,
        refs: HashMap<ProviderKind, SecretRef>,
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

    /// The provider's credentials, from the cache while it is fresh.
    pub async fn credentials(&self, kind: ProviderKind) -> Result<Credentials, ApiError> {
        let secret = self.secret_ref(kind)?;
        let text = self.text(&secret.id, None).await?;
        parse(kind, secret.combined, &text).map_err(|e| e.with_provider(kind.as_str()))
    }

    /// After a provider 401: the credentials as Secrets Manager has them now, fetched at
    /// once unless another send already replaced `rejected`.
    pub async fn refresh(
        &self,
        kind: ProviderKind,
        rejected: &Credentials,
    ) -> Result<Credentials, ApiError> {
        let secret = self.secret_ref(kind)?;
        let text = self
            .text(&secret.id, Some((kind, secret.combined, rejected)))
            .await?;
        parse(kind, secret.combined, &text).map_err(|e| e.with_provider(kind.as_str()))
    }

    fn secret_ref(&self, kind: ProviderKind) -> Result<&SecretRef, ApiError> {
        self.refs.get(&kind).ok_or_else(|| {
            ApiError::new(
                Code::ConfigurationError,
                format!("no secret is configured for {}", kind.as_str()),
            )
            .with_provider(kind.as_str())
        })
    }

    async fn text(
        &self,
        id: &str,
        rejected: Option<(ProviderKind, bool, &Credentials)>,
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
            let still_rejected = rejected.is_some_and(|(kind, combined, old)| {
                parse(kind, combined, text).is_ok_and(|now| now.api_key == old.api_key)
            });
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

/// Reads one provider's credentials out of a secret's text (contract section 9).
fn parse(kind: ProviderKind, combined: bool, text: &SecretText) -> Result<Credentials, ApiError> {
    let name = kind.as_str();
    let config = |message: String| ApiError::new(Code::ConfigurationError, message);
    let trimmed = text.0.trim();
    let json: Option<Value> = serde_json::from_str(trimmed).ok();
    let entry = match (combined, &json) {
        (true, None) => return Err(config("the provider secret is not valid JSON".into())),
        (true, Some(all)) => all
            .get(name)
            .ok_or_else(|| config(format!("the provider secret has no `{name}` entry")))?,
        // A per-provider secret may also hold the combined shape.
        (false, Some(all @ Value::Object(map))) => {
            map.get(name).filter(|v| v.is_object()).unwrap_or(all)
        }
        (false, _) if trimmed.starts_with('{') => {
            return Err(config(format!("the {name} secret is not valid JSON")))
        }
        (false, _) if trimmed.is_empty() || trimmed.contains(char::is_whitespace) => {
            return Err(config(format!(
                "the {name} secret is neither a JSON object nor a bare key"
            )))
        }
        (false, _) => {
            return Ok(Credentials {
                api_key: ApiKey(trimmed.to_string()),
                sender_id: None,
            })
        }
    };
    let api_key = entry
        .get("api_key")
        .and_then(Value::as_str)
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| config(format!("the secret's `{name}.api_key` is missing or empty")))?;
    let sender_id = match entry.get("sender_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|id| *id > 0).ok_or_else(|| {
            config(format!(
                "the secret's `{name}.sender_id` must be a positive integer"
            ))
        })?),
    };
    Ok(Credentials {
        api_key: ApiKey(api_key.trim().to_string()),
        sender_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> SecretText {
        SecretText(s.into())
    }

    #[test]
    fn the_combined_secret_gives_each_provider_its_own_entry() {
        let t = text(
            r#"{"bitbybit":{"api_key":"b-key"},"autocalls":{"api_key":"a-key","sender_id":12}}"#,
        );
        assert_eq!(
            parse(ProviderKind::Bitbybit, true, &t).unwrap(),
            Credentials::new("b-key", None)
        );
        assert_eq!(
            parse(ProviderKind::Autocalls, true, &t).unwrap(),
            Credentials::new("a-key", Some(12))
        );
    }

    #[test]
    fn a_missing_provider_fails_that_provider_only() {
        let t = text(r#"{"autocalls":{"api_key":"a-key"}}"#);
        let err = parse(ProviderKind::Bitbybit, true, &t).unwrap_err();
        assert_eq!(err.code, Code::ConfigurationError);
        assert!(err.message.contains("no `bitbybit` entry"));
        assert!(parse(ProviderKind::Autocalls, true, &t).is_ok());
    }

    #[test]
    fn a_per_provider_secret_is_its_object_or_the_bare_key() {
        assert_eq!(
            parse(ProviderKind::Bitbybit, false, &text(" bare-key\n"))
                .unwrap()
                .api_key
                .expose(),
            "bare-key"
        );
        let obj = text(r#"{"api_key":"k","sender_id":3}"#);
        assert_eq!(
            parse(ProviderKind::Autocalls, false, &obj).unwrap(),
            Credentials::new("k", Some(3))
        );
        let nested = text(r#"{"autocalls":{"api_key":"k2"}}"#);
        assert_eq!(
            parse(ProviderKind::Autocalls, false, &nested)
                .unwrap()
                .api_key
                .expose(),
            "k2"
        );
        assert!(parse(ProviderKind::Autocalls, false, &text("{broken")).is_err());
    }

    #[test]
    fn errors_and_debug_never_show_the_key() {
        let t = text(r#"{"bitbybit":{"api_key":"sk-very-secret","sender_id":"x"}}"#);
        let err = parse(ProviderKind::Bitbybit, true, &t).unwrap_err();
        assert!(!err.message.contains("sk-very-secret"));
        let creds = Credentials::new("sk-very-secret", None);
        assert!(!format!("{creds:?} {} {t:?}", creds.api_key).contains("sk-very-secret"));
    }
}
