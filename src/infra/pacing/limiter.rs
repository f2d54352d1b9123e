//! What a rate limiter is: it hands out send slots per pacing key, spaced so that no
//! interval of one second (any 1,000 ms) holds more sends than the provider's limit, and
//! never one after a send's latest start; a slot its send did not use is given back where
//! it can be.

use crate::infra::records::StoreError;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Each paced provider's limit, in sends per second (`<NAME>_MAX_RPS`).
pub type Limits = HashMap<&'static str, f64>;

/// How late a send may start on its slot. Slots are spaced 8% wider than the limit (80 ms in
/// every second), so a send this late still cannot meet the sends of the next second, with
/// as much again left for the way to the provider; one later (a slow write, a process that
/// was not scheduled in time) takes another slot instead.
pub const LATE_ALLOWANCE: Duration = Duration::from_millis(40);

/// A reserved slot: when its send may start.
#[derive(Clone, Debug)]
pub struct Slot {
    pub at: Instant,
    /// The limit's id (`pace_id`).
    pub pace: [u8; 32],
    /// The slot's time in epoch microseconds, where the limiter counts in them.
    pub(super) epoch_us: u64,
}

impl Slot {
    /// Waits until the slot.
    pub async fn wait(&self) {
        tokio::time::sleep_until(self.at).await;
    }

    /// A slot of `pace` at once, for a limit that is not kept.
    pub fn now(pace: [u8; 32]) -> Slot {
        Slot {
            at: Instant::now(),
            pace,
            epoch_us: 0,
        }
    }

    /// Whether it is too late to start a send on this slot (`LATE_ALLOWANCE`).
    pub fn missed(&self) -> bool {
        Instant::now() > self.at + LATE_ALLOWANCE
    }
}

/// Why no slot was handed out.
#[derive(Debug)]
pub enum Refusal {
    /// No slot before the latest start; the next one is this far away (our `Retry-After`).
    NoSlotInTime(Duration),
    /// The limiter could not be asked (the shared table unreachable, refusing, or told to
    /// fail): the send is paced by its instance alone instead.
    Unavailable(StoreError),
}

pub type Taken = Result<Slot, Refusal>;

/// One provider's limit per pacing key, kept by a store of slots.
pub trait RateLimiter: Send + Sync {
    /// The next slot of `pace` (see `pace_id`) under `provider`'s limit, unless it comes
    /// after `latest`.
    fn take<'a>(
        &'a self,
        provider: &'static str,
        pace: [u8; 32],
        latest: Instant,
    ) -> BoxFuture<'a, Taken>;
    /// A slot whose send will not happen, for a later send where it still can be used.
    fn give_back(&self, slot: &Slot);
}

/// The id of one limit: a digest of the provider and its pacing key, so that neither an API
/// key nor a number is kept, in memory or in a table.
pub fn pace_id(provider: &str, key: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"wa-dispatch rate limit\0")
        .chain_update(provider.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize()
        .into()
}
