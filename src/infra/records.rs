//! What every store of records shares (idempotency records, status records, the status
//! bus): a call that failed, and the future a store's call is.

use futures_util::future::BoxFuture;

/// A store call that failed; nothing is known of its effect.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation} {reason}")]
pub struct StoreError {
    pub operation: &'static str,
    pub reason: String,
}

pub type StoreResult<'a, T> = BoxFuture<'a, Result<T, StoreError>>;
