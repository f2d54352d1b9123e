//! Pacing of one provider's sends per pacing key (what the provider limits: an API key, a
//! sending number), shared by every send of the instance (SQS records, batch entries,
//! single sends): one send every `1 / rate` seconds, with no burst, so that no one-second
//! window holds more than `rate` sends.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Slots are spaced a little wider than `1 / rate`, so that jitter on the way to the
/// provider cannot squeeze one more send into its one-second window.
const SPACING_MARGIN: f64 = 1.08;

pub struct Pacer {
    interval: Duration,
    /// Next free slot per pacing key, keyed by a digest so that no API key is held here.
    next: Mutex<HashMap<[u8; 32], Instant>>,
}

/// No slot before the deadline; the next one is this far away (our own `Retry-After`).
#[derive(Debug)]
pub struct NoSlotInTime(pub Duration);

impl Pacer {
    pub fn new(per_second: f64) -> Self {
        Pacer {
            interval: Duration::from_secs_f64(SPACING_MARGIN / per_second),
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this key's next slot; refuses at once when that slot is past `deadline`.
    pub async fn wait(&self, key: &str, deadline: Instant) -> Result<(), NoSlotInTime> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = next.get(&digest).copied().unwrap_or(now).max(now);
            if slot > deadline {
                return Err(NoSlotInTime(slot.saturating_duration_since(now)));
            }
            next.insert(digest, slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_and_refused_past_the_deadline() {
        let pacer = Pacer::new(5.0);
        let key = "k";
        let start = Instant::now();
        let far = start + Duration::from_secs(60);
        for _ in 0..6 {
            pacer.wait(key, far).await.unwrap();
        }
        // Six sends at 5/s: the sixth waits five intervals.
        assert!(start.elapsed() >= Duration::from_secs_f64(5.0 * SPACING_MARGIN / 5.0));
        let before = Instant::now();
        pacer.wait("other", far).await.unwrap();
        assert_eq!(before, Instant::now(), "another key has its own slots");
        assert!(pacer.wait(key, Instant::now()).await.is_err());
    }
}
