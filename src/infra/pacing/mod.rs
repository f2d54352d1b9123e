//! Each provider's rate limit (docs/configuration.md, "Rate limits"): one send slot at a
//! time per pacing key (an API key, a sending number), behind one trait, so that the send
//! pipeline paces the same way whether the limit is kept by this instance alone (`Pacers`,
//! in memory) or by every instance together through DynamoDB (`SharedLimit`).

mod dynamodb;
mod limiter;
mod memory;

pub use dynamodb::SharedLimit;
pub use limiter::{pace_id, Limits, RateLimiter, Refusal, Slot, Taken, LATE_ALLOWANCE};
pub use memory::{Pacer, Pacers, MAX_KEYS, SPACING_MARGIN};
