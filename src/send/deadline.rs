//! An invocation's time limit: every provider, Secrets Manager and DynamoDB call is bounded
//! by it, so that the function answers before Lambda stops it.

use std::time::Duration;
use tokio::time::Instant;

/// Kept back from the invocation's deadline to answer and log before Lambda stops us.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(500);

/// The last moment for work of an invocation ending at `deadline`.
pub fn cutoff(deadline: Instant) -> Instant {
    deadline.checked_sub(SAFETY_MARGIN).unwrap_or(deadline)
}

/// Runs `work` until `until`; past it, answers `late` (a call that did not answer in time),
/// whatever the call's own timeouts would have done.
pub async fn bounded<T, E>(
    until: Instant,
    late: E,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::time::timeout_at(until, work)
        .await
        .unwrap_or(Err(late))
}
