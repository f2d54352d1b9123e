//! The bus of a deployment without `STATUS_EVENT_BUS`: there is none, so no webhook is
//! received and nothing is ever put.

use super::bus::{BusEvent, EventBus};
use crate::infra::records::{StoreError, StoreResult};

pub struct NoBus;

impl EventBus for NoBus {
    fn exists(&self) -> bool {
        false
    }

    fn put<'a>(&'a self, _: &'a [BusEvent]) -> StoreResult<'a, Vec<bool>> {
        Box::pin(std::future::ready(Err(StoreError {
            operation: "PutEvents",
            reason: "has no bus to put on (STATUS_EVENT_BUS is not set)".into(),
        })))
    }
}
