//! Putting events on the bus, ten an entry call, retrying the entries the bus refused while
//! time is left; an event still unpublished is the webhook's 503, and the provider delivers
//! the webhook again.

use crate::infra::events::{EventBus, MAX_ENTRIES};
use std::time::Duration;
use tokio::time::Instant;

/// Puts every detail; for each, whether it is on the bus.
pub(super) async fn publish(bus: &dyn EventBus, details: &[String], until: Instant) -> Vec<bool> {
    let mut done = vec![false; details.len()];
    let mut pause = Duration::from_millis(50);
    loop {
        let left: Vec<usize> = (0..details.len()).filter(|i| !done[*i]).collect();
        if left.is_empty() {
            return done;
        }
        for chunk in left.chunks(MAX_ENTRIES) {
            let batch: Vec<String> = chunk.iter().map(|i| details[*i].clone()).collect();
            let call = tokio::time::timeout_at(until, bus.put(&batch)).await;
            if let Ok(Ok(put)) = call {
                for (i, ok) in chunk.iter().zip(put) {
                    done[*i] = ok;
                }
            }
        }
        if done.iter().all(|d| *d) || Instant::now() + pause >= until {
            return done;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(400));
    }
}
