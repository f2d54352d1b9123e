//! Idempotency records (docs/guarantees.md, "Idempotency"): one record per caller scope and
//! key, written and read only conditionally. What a record means and which outcomes are
//! stored is the send pipeline's rule (`send::claim`, `send::settlement`); a store only keeps
//! records, behind one trait, so that those rules are unit-tested on `Memory` and run on
//! DynamoDB (`Dynamo`) in production.

mod dynamodb;
mod memory;
mod none;
mod store;

pub use crate::infra::records::{StoreError, StoreResult};
pub use dynamodb::Dynamo;
pub use memory::{Memory, Operation};
pub use none::NoRecords;
pub use store::{Change, IdempotencyStore, Record, State, VERSION};
