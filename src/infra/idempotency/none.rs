//! The idempotency store of a deployment without `IDEMPOTENCY_TABLE`: it keeps nothing, and
//! says so, so that the pipeline claims no key (keys are accepted and ignored, and sends are
//! at least once).

use super::store::{Change, IdempotencyStore, Record};
use crate::infra::records::StoreResult;

pub struct NoRecords;

impl IdempotencyStore for NoRecords {
    fn keeps(&self) -> bool {
        false
    }

    fn put_new<'a>(&'a self, _: &'a Record, _: u64) -> StoreResult<'a, bool> {
        Box::pin(std::future::ready(Ok(true)))
    }

    fn get<'a>(&'a self, _: &'a str) -> StoreResult<'a, Option<Record>> {
        Box::pin(std::future::ready(Ok(None)))
    }

    fn update<'a>(&'a self, _: &'a str, _: &'a str, _: &'a Change) -> StoreResult<'a, bool> {
        Box::pin(std::future::ready(Ok(true)))
    }

    fn delete<'a>(&'a self, _: &'a str, _: &'a str) -> StoreResult<'a, bool> {
        Box::pin(std::future::ready(Ok(true)))
    }
}
