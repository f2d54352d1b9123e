//! Secrets given up front, for unit tests of the send pipeline: no fetch, no cache.

use super::secret::{FingerprintKey, Secret, Secrets};
use crate::error::{ApiError, Code};
use futures_util::future::BoxFuture;
use std::collections::HashMap;

/// Each provider's entry and the fingerprint key, as given.
#[derive(Default)]
pub struct Fixed {
    pub secrets: HashMap<String, Secret>,
    pub fingerprint_key: Option<FingerprintKey>,
}

impl Fixed {
    fn missing(what: &str) -> ApiError {
        ApiError::new(Code::ConfigurationError, format!("no secret for {what}"))
    }
}

impl Secrets for Fixed {
    fn prepare(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn secret<'a>(
        &'a self,
        provider: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Secret, ApiError>> {
        let found = self.secrets.get(provider).cloned();
        Box::pin(async move { found.ok_or_else(|| Fixed::missing(provider)) })
    }

    fn refresh<'a>(
        &'a self,
        provider: &'a str,
        key_field: &'a str,
        _: &'a Secret,
    ) -> BoxFuture<'a, Result<Secret, ApiError>> {
        self.secret(provider, key_field)
    }

    fn fingerprint_key(&self) -> BoxFuture<'_, Result<FingerprintKey, ApiError>> {
        let found = self.fingerprint_key.clone();
        Box::pin(async move { found.ok_or_else(|| Fixed::missing("the fingerprint key")) })
    }
}
