//! What putting events on the bus is: entries of one source and detail type, at most ten a
//! call, each of which may fail on its own (EventBridge answers a call that succeeded with
//! some entries failed).

use crate::infra::records::StoreResult;

pub const SOURCE: &str = "wa-dispatch.status";
pub const DETAIL_TYPE: &str = "WhatsApp message status";
/// EventBridge's limit of entries per `PutEvents`.
pub const MAX_ENTRIES: usize = 10;

pub trait EventBus: Send + Sync {
    /// Whether there is a bus: `false` for the stand-in of a deployment without
    /// `STATUS_EVENT_BUS`, which receives no webhook.
    fn exists(&self) -> bool {
        true
    }
    /// Puts each detail (JSON text) as one event; for each, whether it was put.
    fn put<'a>(&'a self, details: &'a [String]) -> StoreResult<'a, Vec<bool>>;
}
