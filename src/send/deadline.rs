//! An invocation's time, divided (docs/guarantees.md, "Time"): the provider's attempts end
//! early enough to leave time for storing the outcome, storing it ends early enough to leave
//! time for answering, and no attempt starts with less than `MIN_ATTEMPT_MS` before its end.

use std::time::Duration;
use tokio::time::Instant;

/// Kept back from the invocation's deadline to answer and log before Lambda stops us.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(500);

/// Kept back from a keyed send's attempts for storing its outcome (and retrying that write):
/// an outcome that may have been sent must be recorded.
pub const SETTLE_RESERVE: Duration = Duration::from_millis(500);

/// The last moment for work of an invocation ending at `deadline`.
pub fn cutoff(deadline: Instant) -> Instant {
    deadline.checked_sub(SAFETY_MARGIN).unwrap_or(deadline)
}

/// One send's share of its invocation's time.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub deadline: Instant,
    /// Whether an outcome must be stored after the attempts (a keyed send with a table).
    pub settles: bool,
    pub min_attempt: Duration,
}

impl Budget {
    /// When the provider's attempts must be over.
    pub fn attempts_end(&self) -> Instant {
        let end = cutoff(self.deadline);
        match self.settles {
            true => end.checked_sub(SETTLE_RESERVE).unwrap_or(end),
            false => end,
        }
    }

    /// The latest moment an attempt may start: `min_attempt` before the attempts' end.
    pub fn latest_start(&self) -> Instant {
        let end = self.attempts_end();
        end.checked_sub(self.min_attempt).unwrap_or(end)
    }

    /// When storing the outcome must be over: half the answer's margin is worth it, since the
    /// message may already be sent.
    pub fn settle_by(&self) -> Instant {
        self.deadline
            .checked_sub(SAFETY_MARGIN / 2)
            .unwrap_or(self.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_send_keeps_time_for_its_outcome_and_every_attempt_starts_with_time_to_finish() {
        let deadline = Instant::now() + Duration::from_secs(3);
        let min_attempt = Duration::from_millis(800);
        let keyed = Budget {
            deadline,
            settles: true,
            min_attempt,
        };
        assert_eq!(keyed.attempts_end(), deadline - Duration::from_millis(1000));
        assert_eq!(keyed.latest_start(), deadline - Duration::from_millis(1800));
        assert!(keyed.settle_by() > keyed.attempts_end());
        let unkeyed = Budget {
            settles: false,
            ..keyed
        };
        assert_eq!(unkeyed.attempts_end(), deadline - SAFETY_MARGIN);
    }
}
