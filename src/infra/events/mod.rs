//! The bus delivery-status events are put on (`STATUS_EVENT_BUS`), behind one trait:
//! EventBridge in production, memory for unit tests.

mod bus;
mod eventbridge;
mod memory;
mod none;

pub use bus::{
    BusEvent, EventBus, DETAIL_TYPE, MAX_ENTRIES, SOURCE, TEMPLATE_DETAIL_TYPE, TEMPLATE_SOURCE,
};
pub use eventbridge::EventBridgeBus;
pub use memory::MemoryBus;
pub use none::NoBus;
