//! The types that hold secrets (never printed), and the `Secrets` seam.

use crate::error::{ApiError, Code};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

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

    /// A webhook's credential: `field` when it is a non-empty string; anything else is no
    /// credential (the webhook is refused, never accepted on a malformed secret).
    pub fn credential(&self, field: &str) -> Option<&str> {
        self.text(field).ok().flatten()
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
pub(super) struct SecretText(pub(super) Arc<str>);

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

/// The key of the idempotency fingerprint's HMAC: at least 32 characters, from the
/// secret's `"wa-dispatch": {"fingerprint_key"}` or the secret `FINGERPRINT_SECRET_ID`
/// names. Never printed.
#[derive(Clone)]
pub struct FingerprintKey(Arc<str>);

/// The shortest fingerprint key accepted: shorter keys are guessable.
pub const MIN_FINGERPRINT_KEY_CHARS: usize = 32;

impl FingerprintKey {
    pub fn new(text: &str) -> Result<Self, ApiError> {
        let text = text.trim();
        if text.chars().count() < MIN_FINGERPRINT_KEY_CHARS {
            return Err(ApiError::new(
                Code::ConfigurationError,
                format!("the idempotency fingerprint key must be at least {MIN_FINGERPRINT_KEY_CHARS} characters"),
            ));
        }
        Ok(FingerprintKey(text.into()))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(***)")
    }
}

/// `work`, a read of the secrets, given up at `until` as `SECRET_UNAVAILABLE`: Secrets
/// Manager has its own short timeouts, and this also keeps a near deadline.
pub async fn in_time<T>(
    until: tokio::time::Instant,
    work: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let late = ApiError::new(
        Code::SecretUnavailable,
        "Secrets Manager did not answer in time",
    );
    crate::infra::bounded(until, late, work).await
}

/// Where the send pipeline reads its secrets: a seam, so that the pipeline's rules are
/// unit-tested without Secrets Manager.
pub trait Secrets: Send + Sync {
    /// Prepares what the first read needs (the SDK client), with no network call.
    fn prepare(&self) -> BoxFuture<'_, ()>;
    /// The provider's entry of its secret; `key_field` names its credential.
    fn secret<'a>(
        &'a self,
        provider: &'a str,
        key_field: &'a str,
    ) -> BoxFuture<'a, Result<Secret, ApiError>>;
    /// After the provider refused `rejected`: the entry as it is now, fetched at once.
    fn refresh<'a>(
        &'a self,
        provider: &'a str,
        key_field: &'a str,
        rejected: &'a Secret,
    ) -> BoxFuture<'a, Result<Secret, ApiError>>;
    /// The idempotency fingerprint's key; `CONFIGURATION_ERROR` when none is configured.
    fn fingerprint_key(&self) -> BoxFuture<'_, Result<FingerprintKey, ApiError>>;
    /// The provider's webhook fields (its proof): from `WEBHOOK_SECRET_ID` where it is set,
    /// whose entries need no key; else the provider's entry of its secret.
    fn webhook<'a>(
        &'a self,
        provider: &'a str,
        key_field: &'a str,
    ) -> BoxFuture<'a, Result<Secret, ApiError>> {
        self.secret(provider, key_field)
    }
}
