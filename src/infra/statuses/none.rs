//! The status store of a deployment without `STATUS_TABLE`: it keeps nothing, and says so,
//! so that every verified status is published and the status route answers 404.

use super::store::{MessageStatus, Move, Moved, SentRecord, StatusStore};
use crate::infra::records::{StoreError, StoreResult};

pub struct NoStatuses;

impl StatusStore for NoStatuses {
    fn keeps(&self) -> bool {
        false
    }

    fn record_sent<'a>(&'a self, _: &'a SentRecord, _: u64) -> StoreResult<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn advance<'a>(&'a self, _: &'a Move, _: u64) -> StoreResult<'a, Moved> {
        Box::pin(std::future::ready(Err(StoreError {
            operation: "UpdateItem",
            reason: "has no table (STATUS_TABLE is not set)".into(),
        })))
    }

    fn published<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> StoreResult<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn get<'a>(&'a self, _: &'a str, _: &'a str) -> StoreResult<'a, Option<MessageStatus>> {
        Box::pin(std::future::ready(Ok(None)))
    }
}
