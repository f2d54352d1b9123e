//! Putting events on the bus, ten an entry call and a few calls at once, retrying the entries
//! the bus refused while time is left; an event still unpublished is the webhook's 503, and
//! the provider delivers the webhook again.

use crate::infra::events::{BusEvent, EventBus, MAX_ENTRIES};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::time::Instant;

/// `PutEvents` calls in flight for one webhook: Meta's 1,000 statuses are 100 calls, which
/// one after another at EventBridge's tens of milliseconds would pass Meta's second.
const CONCURRENT_PUTS: usize = 8;

/// Puts every detail; for each, whether it is on the bus.
pub(super) async fn publish(bus: &dyn EventBus, details: &[BusEvent], until: Instant) -> Vec<bool> {
    let mut done = vec![false; details.len()];
    let mut pause = Duration::from_millis(50);
    loop {
        let left: Vec<usize> = (0..details.len()).filter(|i| !done[*i]).collect();
        if left.is_empty() {
            return done;
        }
        let chunks: Vec<Vec<usize>> = left.chunks(MAX_ENTRIES).map(<[usize]>::to_vec).collect();
        let mut puts = futures_util::stream::iter(chunks)
            .map(|chunk| put(bus, details, chunk, until))
            .buffer_unordered(CONCURRENT_PUTS);
        while let Some((chunk, on_bus)) = puts.next().await {
            for (i, ok) in chunk.iter().zip(on_bus) {
                done[*i] = ok;
            }
        }
        if done.iter().all(|d| *d) || Instant::now() + pause >= until {
            return done;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(400));
    }
}

/// One call of up to ten entries: which of them are on the bus (none if the call failed or
/// ran out of time).
async fn put(
    bus: &dyn EventBus,
    details: &[BusEvent],
    chunk: Vec<usize>,
    until: Instant,
) -> (Vec<usize>, Vec<bool>) {
    let batch: Vec<BusEvent> = chunk.iter().map(|i| details[*i].clone()).collect();
    match tokio::time::timeout_at(until, bus.put(&batch)).await {
        Ok(Ok(put)) => (chunk, put),
        _ => (chunk, vec![]),
    }
}
