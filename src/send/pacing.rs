//! A send's slot under its provider's limit (docs/configuration.md, "Rate limits"): from the
//! shared limit when there is one (`RATE_LIMIT_TABLE`), else from this instance's pacers;
//! and from this instance's pacers whenever the shared limit cannot answer in time, so that
//! the table's failure never refuses a send (it is counted as `RateLimitFallback`, and
//! logged once each time it starts).

use crate::error::{ApiError, Code};
use crate::infra::pacing::{pace_id, Limits, Pacers, RateLimiter, Refusal, Slot};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How long the shared limit is given to hand out a slot before the instance paces alone.
/// DynamoDB answers a write in a few milliseconds; a table that takes longer than this is
/// failing, and a shorter patience would let a merely slow moment split the instances into
/// several limits at once (each pacing alone at the whole limit).
const SHARED_PATIENCE: Duration = Duration::from_secs(1);

/// How long an instance paces alone after the shared limit failed, before asking it again:
/// an unreachable table costs one wait of `SHARED_PATIENCE` per this interval, not one per send.
const FALLBACK_SPELL: Duration = Duration::from_secs(5);

pub(super) struct Pacing {
    limits: Limits,
    /// Where slots come from: the shared limit, or (without `RATE_LIMIT_TABLE`) the
    /// instance's own pacers, which never fail.
    shared: Arc<dyn RateLimiter>,
    /// The instance's own pacers, for when `shared` cannot answer.
    local: Pacers,
    spell: Mutex<Spell>,
}

/// A time of pacing alone, after the shared limit failed.
#[derive(Default)]
struct Spell {
    /// Until when the table is not asked.
    until: Option<Instant>,
    /// The table's last answer was a failure (its recovery is logged once).
    failing: bool,
}

/// A slot reserved for a send, and where it came from.
pub(super) struct Reserved {
    pub slot: Slot,
    provider: &'static str,
    shared: bool,
    /// The shared limit could not be asked: the instance paced this send alone.
    pub fell_back: bool,
}

impl Pacing {
    pub fn new(limits: Limits, shared: Arc<dyn RateLimiter>) -> Self {
        Pacing {
            local: Pacers::new(&limits),
            shared,
            limits,
            spell: Mutex::default(),
        }
    }

    /// This send's slot, `None` when its provider is not paced or the message names no
    /// pacing key; refused (429, with when the next slot comes free) when it would come
    /// after `latest`.
    pub async fn reserve(
        &self,
        provider: &'static str,
        key: Option<String>,
        latest: Instant,
    ) -> Result<Option<Reserved>, ApiError> {
        let (true, Some(key)) = (self.limits.contains_key(provider), key) else {
            return Ok(None);
        };
        self.take(provider, pace_id(provider, &key), latest)
            .await
            .map(Some)
    }

    /// Another slot for a send that woke too late for its own (`Slot::missed`): its own is
    /// not used, so that no second holds one more send than the limit.
    pub async fn again(&self, missed: &Reserved, latest: Instant) -> Result<Reserved, ApiError> {
        self.take(missed.provider, missed.slot.pace, latest).await
    }

    async fn take(
        &self,
        provider: &'static str,
        pace: [u8; 32],
        latest: Instant,
    ) -> Result<Reserved, ApiError> {
        if !self.alone() {
            let patience = (Instant::now() + SHARED_PATIENCE).min(latest.max(Instant::now()));
            let late = Refusal::Unavailable(crate::infra::records::StoreError {
                operation: "UpdateItem",
                reason: "did not answer in time".into(),
            });
            let taken =
                crate::infra::bounded(patience, late, self.shared.take(provider, pace, latest))
                    .await;
            match taken {
                Ok(slot) => {
                    self.answered();
                    return Ok(Reserved {
                        slot,
                        provider,
                        shared: true,
                        fell_back: false,
                    });
                }
                Err(Refusal::NoSlotInTime(wait)) => {
                    self.answered();
                    return Err(no_slot(provider, wait));
                }
                Err(Refusal::Unavailable(error)) => self.pace_alone(&error.to_string()),
            }
        }
        match self.local.take(provider, pace, latest).await {
            Ok(slot) => Ok(Reserved {
                slot,
                provider,
                shared: false,
                fell_back: true,
            }),
            Err(Refusal::NoSlotInTime(wait)) => Err(no_slot(provider, wait)),
            // The instance's own pacers fail only when a test tells them to: then the send
            // goes at once.
            Err(Refusal::Unavailable(_)) => Ok(Reserved {
                slot: Slot::now(pace),
                provider,
                shared: false,
                fell_back: true,
            }),
        }
    }

    /// The send will not happen: its slot serves a later one where it can.
    pub fn give_back(&self, reserved: &Reserved) {
        match reserved.shared {
            true => self.shared.give_back(&reserved.slot),
            false => self.local.give_back(&reserved.slot),
        }
    }

    /// Whether the instance paces alone now, after a failure of the table.
    fn alone(&self) -> bool {
        let spell = self.spell.lock().unwrap_or_else(|p| p.into_inner());
        spell.until.is_some_and(|until| until > Instant::now())
    }

    fn pace_alone(&self, reason: &str) {
        let mut spell = self.spell.lock().unwrap_or_else(|p| p.into_inner());
        if !spell.failing {
            tracing::warn!(
                error = reason,
                "the rate-limit table failed: this instance paces its sends alone until it answers again (RateLimitFallback)"
            );
        }
        *spell = Spell {
            until: Some(Instant::now() + FALLBACK_SPELL),
            failing: true,
        };
    }

    fn answered(&self) {
        let mut spell = self.spell.lock().unwrap_or_else(|p| p.into_inner());
        if spell.failing {
            tracing::info!(
                "the rate-limit table answers again: sends are paced by all instances together"
            );
        }
        *spell = Spell::default();
    }
}

fn no_slot(provider: &str, wait: Duration) -> ApiError {
    ApiError::new(
        Code::RateLimited,
        "the send could not be paced within the time left; nothing was sent",
    )
    .with_provider(provider)
    .with_retry_after(Some(wait))
}
