//! Sent messages and their delivery statuses (docs/statuses.md, "Order and duplicates"): one
//! record per provider and message, moved forward only by a conditional write, behind one
//! trait (DynamoDB in production, memory for unit tests and local runs).

mod dynamodb;
mod memory;
mod none;
mod store;

pub use dynamodb::DynamoStatuses;
pub use memory::MemoryStatuses;
pub use none::NoStatuses;
pub use store::{
    sender_of, timeout, HistoryEntry, MessageStatus, Move, Moved, SentRecord, StatusStore,
    MAX_HISTORY, MAX_WORDS,
};
