//! How long a record's writer may still be at work on it (its lease): never less than its
//! invocation, whatever the clocks' fractions, so that a record is never taken from a live
//! invocation.

use std::time::Duration;
use tokio::time::Instant;

/// Kept past the invocation's deadline on a live record, for clock differences between the
/// instance that wrote it and one that reads it.
pub(super) const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// The epoch second until which the invocation that writes a record `now` may still be at
/// work on it: never before its deadline (rounded up, plus a margin for clocks).
pub(super) fn lease_until(now: u64, deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now());
    lease_after(Duration::from_secs(now), left)
}

pub(super) fn lease_after(now: Duration, left: Duration) -> u64 {
    (now + left + LEASE_MARGIN).as_secs() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_outlives_its_invocation_whatever_the_fractions() {
        for (now_ms, left_ms) in [(100_900, 2_500), (100_000, 0), (100_999, 999), (5, 29_999)] {
            let (now, left) = (
                Duration::from_millis(now_ms),
                Duration::from_millis(left_ms),
            );
            let deadline = now + left;
            let until = lease_after(now, left);
            // A record's lease has ended once `lease_until < epoch seconds now`.
            assert!(
                Duration::from_secs(until + 1) >= deadline + LEASE_MARGIN,
                "{now_ms} + {left_ms}: until {until}"
            );
        }
    }
}
