//! Delivery statuses (docs/statuses.md): a provider's verified webhook becomes one
//! normalized event per status on the status bus, moved forward and kept with the table,
//! and a message's status is answered from its record.

mod advance;
mod event;
mod publish;
mod tracker;

pub use tracker::{Received, StatusTracker};
#[cfg(test)]
mod tests;
