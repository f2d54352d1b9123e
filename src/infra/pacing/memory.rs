//! Each limit kept by this instance alone, in memory: the pacing of a deployment without
//! `RATE_LIMIT_TABLE`, and of an instance whose table cannot be reached. Every send of the
//! instance shares it (SQS records, batch entries, single sends): one send every `1 / rate`
//! seconds, with no burst, so that no one-second window holds more than `rate` sends. It
//! can be told to fail, as the table can, for unit tests of the fallback.

use super::limiter::{Limits, RateLimiter, Refusal, Slot, Taken};
use crate::infra::records::StoreError;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Slots are spaced a little wider than `1 / rate`, so that jitter on the way to the
/// provider cannot squeeze one more send into its one-second window.
pub const SPACING_MARGIN: f64 = 1.08;

/// Keys kept at most. A key whose next slot has passed is the same as an absent one and is
/// pruned; past the cap (a flood of distinct keys inside one interval) the earliest half
/// goes, which at worst lets one of them send one interval early.
pub const MAX_KEYS: usize = 4096;

pub struct Pacer {
    interval: Duration,
    /// Next free slot per pacing key, keyed by a digest so that no API key is held here.
    next: Mutex<HashMap<[u8; 32], Instant>>,
}

/// One `Pacer` per paced provider: the `RateLimiter` of an instance alone.
pub struct Pacers {
    pacers: HashMap<&'static str, Pacer>,
    failures: AtomicUsize,
}

impl Pacers {
    pub fn new(limits: &Limits) -> Self {
        Pacers {
            pacers: limits
                .iter()
                .map(|(provider, rate)| (*provider, Pacer::new(*rate)))
                .collect(),
            failures: AtomicUsize::new(0),
        }
    }

    /// The next `times` takes fail (and take nothing), as an unreachable table would.
    pub fn fail(&self, times: usize) {
        self.failures.fetch_add(times, Ordering::SeqCst);
    }

    fn told_to_fail(&self) -> bool {
        self.failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl RateLimiter for Pacers {
    fn take<'a>(
        &'a self,
        provider: &'static str,
        pace: [u8; 32],
        latest: Instant,
    ) -> BoxFuture<'a, Taken> {
        let taken = match self.pacers.get(provider) {
            _ if self.told_to_fail() => Err(Refusal::Unavailable(StoreError {
                operation: "memory",
                reason: "was told to fail".into(),
            })),
            Some(pacer) => pacer.reserve(pace, latest),
            // Not paced: every slot is now.
            None => Ok(Slot::now(pace)),
        };
        Box::pin(std::future::ready(taken))
    }

    fn give_back(&self, slot: &Slot) {
        for pacer in self.pacers.values() {
            pacer.give_back(slot);
        }
    }
}

impl Pacer {
    pub fn new(per_second: f64) -> Self {
        Pacer {
            interval: Duration::from_secs_f64(SPACING_MARGIN / per_second),
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves this limit's next slot, unless it comes after `latest`.
    pub fn reserve(&self, digest: [u8; 32], latest: Instant) -> Taken {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let at = next.get(&digest).copied().unwrap_or(now).max(now);
        if at > latest {
            return Err(Refusal::NoSlotInTime(at.saturating_duration_since(now)));
        }
        if next.len() >= MAX_KEYS && !next.contains_key(&digest) {
            prune(&mut next, now);
        }
        next.insert(digest, at + self.interval);
        Ok(Slot {
            at,
            pace: digest,
            epoch_us: 0,
        })
    }

    /// Gives back a slot whose send will not happen, if no later slot was reserved since.
    pub fn give_back(&self, slot: &Slot) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if next.get(&slot.pace) == Some(&(slot.at + self.interval)) {
            next.insert(slot.pace, slot.at);
        }
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.next.lock().unwrap().len()
    }
}

fn prune(next: &mut HashMap<[u8; 32], Instant>, now: Instant) {
    next.retain(|_, at| *at > now);
    if next.len() >= MAX_KEYS {
        let mut times: Vec<Instant> = next.values().copied().collect();
        times.sort_unstable();
        let median = times[times.len() / 2];
        next.retain(|_, at| *at > median);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::pacing::pace_id;

    async fn take(pacer: &Pacer, key: &str, latest: Instant) -> Result<(), Refusal> {
        pacer.reserve(pace_id("p", key), latest)?.wait().await;
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_and_refused_past_the_latest_start() {
        let pacer = Pacer::new(5.0);
        let key = "k";
        let start = Instant::now();
        let far = start + Duration::from_secs(60);
        for _ in 0..6 {
            take(&pacer, key, far).await.unwrap();
        }
        // Six sends at 5/s: the sixth waits five intervals.
        assert!(start.elapsed() >= Duration::from_secs_f64(5.0 * SPACING_MARGIN / 5.0));
        let before = Instant::now();
        take(&pacer, "other", far).await.unwrap();
        assert_eq!(before, Instant::now(), "another key has its own slots");
        let Err(Refusal::NoSlotInTime(wait)) = pacer.reserve(pace_id("p", key), Instant::now())
        else {
            panic!("a slot past the latest start")
        };
        assert!(wait > Duration::ZERO && wait <= pacer.interval);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_given_back_is_the_next_one_again_unless_another_came_after() {
        let pacer = Pacer::new(1.0);
        let far = Instant::now() + Duration::from_secs(60);
        let k = pace_id("p", "k");
        let first = pacer.reserve(k, far).unwrap();
        let second = pacer.reserve(k, far).unwrap();
        pacer.give_back(&second);
        assert_eq!(pacer.reserve(k, far).unwrap().at, second.at);
        pacer.give_back(&first);
        assert!(
            pacer.reserve(k, far).unwrap().at > second.at,
            "a later slot was taken"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hundred_thousand_distinct_keys_leave_the_map_bounded() {
        let pacer = Pacer::new(80.0);
        let far = Instant::now() + Duration::from_secs(60);
        for i in 0..100_000 {
            pacer.reserve(pace_id("p", &format!("{i}")), far).unwrap();
            assert!(pacer.keys() <= MAX_KEYS);
            if i % 1000 == 0 {
                tokio::time::advance(Duration::from_millis(3)).await;
            }
        }
        assert!(pacer.keys() <= MAX_KEYS);
    }
}
