//! The send pipeline, the same for every entry point and every provider (docs/guarantees.md):
//! `pipeline.rs` reads it top to bottom (parse → admit → key → prepare → claim → attempts →
//! settle); each rule it applies has one home beside it. Entry points only decode their
//! envelope, say who asked, and render the `Outcome`.
//!
//! - `request`: the send request parsed into valid types (its provider's part by the provider);
//! - `attempt`: one attempt's parts (secret, wire request, slot) and what it came to;
//! - `pacing`: a send's slot under its provider's limit, shared by all instances or not;
//! - `claim`: what an idempotency key's record says, and the record moved along;
//! - `settlement`: which outcomes are stored, and when a failure becomes `DELIVERY_UNKNOWN`.

mod attempt;
mod claim;
mod context;
pub mod deadline;
mod lease;
pub mod outcome;
mod pacing;
mod pipeline;
pub mod request;
mod settlement;
#[cfg(test)]
mod tests;

pub use claim::record_id;
pub use context::{Context, Invocation};
pub use pipeline::Sender;
