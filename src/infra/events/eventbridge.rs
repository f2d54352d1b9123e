//! The status bus on EventBridge: `PutEvents` on the bus `STATUS_EVENT_BUS` names.

use super::bus::{BusEvent, EventBus};
use crate::infra::aws::{describe, Aws};
use crate::infra::records::{StoreError, StoreResult};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub struct EventBridgeBus {
    bus: String,
    aws: Arc<Aws>,
    client: OnceCell<Client>,
}

impl EventBridgeBus {
    pub fn new(bus: String, aws: Arc<Aws>) -> Self {
        EventBridgeBus {
            bus,
            aws,
            client: OnceCell::new(),
        }
    }
}

impl EventBus for EventBridgeBus {
    fn put<'a>(&'a self, events: &'a [BusEvent]) -> StoreResult<'a, Vec<bool>> {
        Box::pin(async move {
            let client = self
                .client
                .get_or_init(|| async { Client::new(self.aws.config().await) })
                .await;
            let entries = events.iter().map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(event.source)
                    .detail_type(event.detail_type)
                    .detail(&event.detail)
                    .build()
            });
            let output = client
                .put_events()
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .map_err(|e| {
                    let reason = describe(&e);
                    tracing::warn!(error = %reason, cause = %crate::infra::telemetry::chain(&e), "PutEvents failed");
                    StoreError { operation: "PutEvents", reason }
                })?;
            let answered = output.entries();
            Ok((0..events.len())
                .map(|i| {
                    answered
                        .get(i)
                        .is_some_and(|e| e.error_code().is_none() && e.event_id().is_some())
                })
                .collect())
        })
    }
}
