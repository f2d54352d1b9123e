//! What wa-dispatch talks to besides the providers: the AWS SDK configuration, the secrets,
//! the idempotency records, and the logs and metrics. Each is built lazily, on first use.

pub mod aws;
pub mod dynamo;
pub mod events;
pub mod idempotency;
pub mod metrics;
pub mod pacing;
pub mod records;
pub mod secrets;
pub mod statuses;
pub mod telemetry;

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Whole seconds since the Unix epoch, as records, leases and DynamoDB's TTL count time.
pub fn epoch_secs() -> u64 {
    since_epoch().as_secs()
}

/// Milliseconds since the Unix epoch, as metric timestamps and a status's `received_at`.
pub fn epoch_ms() -> u64 {
    since_epoch().as_millis() as u64
}

/// Microseconds since the Unix epoch, as the shared rate limit counts its slots.
pub fn epoch_us() -> u64 {
    since_epoch().as_micros() as u64
}

/// An epoch time as ISO 8601 in whole seconds (`2026-11-30T10:04:05Z`).
pub fn iso8601(epoch_seconds: u64) -> String {
    use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
    DateTime::from_secs(epoch_seconds as i64)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Runs `work` until `until`; past it, answers `late` (a call that did not answer in time),
/// whatever the call's own timeouts would have done.
pub async fn bounded<T, E>(
    until: Instant,
    late: E,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::time::timeout_at(until, work)
        .await
        .unwrap_or(Err(late))
}
