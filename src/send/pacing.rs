//! Pacing of one provider's sends per pacing key (what the provider limits: an API key, a
//! sending number), shared by every send of the instance (SQS records, batch entries,
//! single sends): one send every `1 / rate` seconds, with no burst, so that no one-second
//! window holds more than `rate` sends. A slot is reserved first and waited for after, so
//! that a send knows at once whether its slot leaves it time to finish, and a slot its
//! send did not use is given back.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Slots are spaced a little wider than `1 / rate`, so that jitter on the way to the
/// provider cannot squeeze one more send into its one-second window.
const SPACING_MARGIN: f64 = 1.08;

/// Keys kept at most. A key whose next slot has passed is the same as an absent one and is
/// pruned; past the cap (a flood of distinct keys inside one interval) the earliest half
/// goes, which at worst lets one of them send one interval early.
pub const MAX_KEYS: usize = 4096;

pub struct Pacer {
    interval: Duration,
    /// Next free slot per pacing key, keyed by a digest so that no API key is held here.
    next: Mutex<HashMap<[u8; 32], Instant>>,
}

/// No slot in time; the next one is this far away (our own `Retry-After`).
#[derive(Debug)]
pub struct NoSlotInTime(pub Duration);

/// A reserved slot: when its send may start.
#[derive(Debug)]
pub struct Slot {
    pub at: Instant,
    digest: [u8; 32],
}

impl Slot {
    /// Waits until the slot.
    pub async fn wait(&self) {
        tokio::time::sleep_until(self.at).await;
    }
}

impl Pacer {
    pub fn new(per_second: f64) -> Self {
        Pacer {
            interval: Duration::from_secs_f64(SPACING_MARGIN / per_second),
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves this key's next slot, unless it comes after `latest`.
    pub fn reserve(&self, key: &str, latest: Instant) -> Result<Slot, NoSlotInTime> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let at = next.get(&digest).copied().unwrap_or(now).max(now);
        if at > latest {
            return Err(NoSlotInTime(at.saturating_duration_since(now)));
        }
        if next.len() >= MAX_KEYS && !next.contains_key(&digest) {
            prune(&mut next, now);
        }
        next.insert(digest, at + self.interval);
        Ok(Slot { at, digest })
    }

    /// Gives back a slot whose send will not happen, if no later slot was reserved since.
    pub fn give_back(&self, slot: &Slot) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if next.get(&slot.digest) == Some(&(slot.at + self.interval)) {
            next.insert(slot.digest, slot.at);
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

    async fn take(pacer: &Pacer, key: &str, latest: Instant) -> Result<(), NoSlotInTime> {
        pacer.reserve(key, latest)?.wait().await;
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
        let refused = pacer.reserve(key, Instant::now()).unwrap_err();
        assert!(refused.0 > Duration::ZERO && refused.0 <= pacer.interval);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_given_back_is_the_next_one_again_unless_another_came_after() {
        let pacer = Pacer::new(1.0);
        let far = Instant::now() + Duration::from_secs(60);
        let first = pacer.reserve("k", far).unwrap();
        let second = pacer.reserve("k", far).unwrap();
        pacer.give_back(&second);
        assert_eq!(pacer.reserve("k", far).unwrap().at, second.at);
        pacer.give_back(&first);
        assert!(
            pacer.reserve("k", far).unwrap().at > second.at,
            "a later slot was taken"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hundred_thousand_distinct_keys_leave_the_map_bounded() {
        let pacer = Pacer::new(80.0);
        let far = Instant::now() + Duration::from_secs(60);
        for i in 0..100_000 {
            pacer.reserve(&format!("{i}"), far).unwrap();
            assert!(pacer.keys() <= MAX_KEYS);
            if i % 1000 == 0 {
                tokio::time::advance(Duration::from_millis(3)).await;
            }
        }
        assert!(pacer.keys() <= MAX_KEYS);
    }
}
