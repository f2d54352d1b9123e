//! What putting events on the bus is: entries of a source and detail type each (a message's
//! status, a template's), at most ten a call, each of which may fail on its own (EventBridge
//! answers a call that succeeded with some entries failed).

use crate::infra::records::StoreResult;

pub const SOURCE: &str = "wa-dispatch.status";
pub const DETAIL_TYPE: &str = "WhatsApp message status";
/// A template's status, as Meta's template notifications tell it.
pub const TEMPLATE_SOURCE: &str = "wa-dispatch.template";
pub const TEMPLATE_DETAIL_TYPE: &str = "WhatsApp template status";

/// One event to put: its source and detail type, and its detail (JSON text).
#[derive(Clone, Debug, PartialEq)]
pub struct BusEvent {
    pub source: &'static str,
    pub detail_type: &'static str,
    pub detail: String,
}

impl BusEvent {
    /// A message's delivery status.
    pub fn status(detail: String) -> Self {
        BusEvent {
            source: SOURCE,
            detail_type: DETAIL_TYPE,
            detail,
        }
    }

    /// A template's status.
    pub fn template(detail: String) -> Self {
        BusEvent {
            source: TEMPLATE_SOURCE,
            detail_type: TEMPLATE_DETAIL_TYPE,
            detail,
        }
    }
}
/// EventBridge's limit of entries per `PutEvents`.
pub const MAX_ENTRIES: usize = 10;

pub trait EventBus: Send + Sync {
    /// Whether there is a bus: `false` for the stand-in of a deployment without
    /// `STATUS_EVENT_BUS`, which receives no webhook.
    fn exists(&self) -> bool {
        true
    }
    /// Puts each event; for each, whether it was put.
    fn put<'a>(&'a self, events: &'a [BusEvent]) -> StoreResult<'a, Vec<bool>>;
}
