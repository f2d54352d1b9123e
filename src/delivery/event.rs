//! The event of one status (docs/statuses.md, "The event"): its stable id, our word and the
//! provider's, when it happened and when we heard of it, whom it was for (masked), and why
//! it failed.

use crate::domain::status::{Stage, Status, TemplateUpdate};
use crate::infra::iso8601;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The same for every delivery of the same status: consumers deduplicate on it.
pub(super) fn event_id(provider: &str, status: &Status) -> String {
    let digest = Sha256::new()
        .chain_update(provider.as_bytes())
        .chain_update([0])
        .chain_update(status.message_id.as_bytes())
        .chain_update([0])
        .chain_update(status.provider_status.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// The same for every delivery of the same template notification: consumers deduplicate on
/// it, and the status table keeps one record of it (`template:<event_id>`).
pub(super) fn template_event_id(update: &TemplateUpdate) -> String {
    let mut digest = Sha256::new().chain_update(b"template");
    for part in [
        Some(update.field.as_str()),
        update.template_id.as_deref(),
        update.language.as_deref(),
        update.status.as_deref(),
        update.category.as_deref(),
        update.previous_category.as_deref(),
    ] {
        digest = digest
            .chain_update([0])
            .chain_update(part.unwrap_or("").as_bytes());
    }
    let time = update.occurred_at.unwrap_or(0).to_string();
    hex::encode(&digest.chain_update([0]).chain_update(time).finalize()[..16])
}

/// A template notification as the status table keeps it: a record of its own, moved once,
/// so that a repeat publishes nothing (and one stored but never published is published
/// when it comes again), as a status is.
pub(super) fn template_move(update: &TemplateUpdate, event_id: &str) -> Status {
    Status {
        message_id: format!("template:{event_id}"),
        stage: Stage::Unknown,
        provider_status: update.field.clone(),
        occurred_at: update.occurred_at,
        to: None,
        recipient_user_id: None,
        client_reference: None,
        error: None,
        pricing: None,
    }
}

/// A template event's detail (docs/statuses.md, "Template notifications").
pub(super) fn template_detail(
    provider: &str,
    update: &TemplateUpdate,
    event_id: &str,
    received_at_ms: u64,
) -> Value {
    let mut detail = serde_json::to_value(update).unwrap_or_default();
    detail["event_id"] = json!(event_id);
    detail["provider"] = json!(provider);
    detail["occurred_at"] = json!(iso8601(update.occurred_at.unwrap_or(received_at_ms / 1000)));
    detail["received_at"] = json!(iso_ms(received_at_ms));
    detail
}

/// An epoch time as ISO 8601 with its milliseconds (`2026-11-30T10:04:06.120Z`).
pub(super) fn iso_ms(epoch_ms: u64) -> String {
    let seconds = iso8601(epoch_ms / 1000);
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), epoch_ms % 1000)
}

/// The event's detail.
pub(super) fn detail(
    provider: &str,
    status: &Status,
    event_id: &str,
    received_at_ms: u64,
    client_reference: Option<&str>,
) -> Value {
    let occurred = status.occurred_at.unwrap_or(received_at_ms / 1000);
    json!({
        "event_id": event_id,
        "provider": provider,
        "message_id": status.message_id,
        "status": status.stage.as_str(),
        "provider_status": status.provider_status,
        "occurred_at": iso8601(occurred),
        "received_at": iso_ms(received_at_ms),
        "to": status.to,
        "recipient_user_id": status.recipient_user_id,
        "client_reference": client_reference.or(status.client_reference.as_deref()),
        "error": status.error,
        "pricing": status.pricing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::status::Stage;

    fn status(word: &str) -> Status {
        Status {
            message_id: "wamid.1".into(),
            stage: Stage::Sent,
            provider_status: word.into(),
            occurred_at: Some(1_764_497_045),
            to: Some("+62*******7890".into()),
            recipient_user_id: None,
            client_reference: Some("order-1".into()),
            error: None,
            pricing: None,
        }
    }

    #[test]
    fn an_events_id_is_stable_per_provider_message_and_status() {
        assert_eq!(
            event_id("meta", &status("sent")),
            event_id("meta", &status("sent"))
        );
        assert_ne!(
            event_id("meta", &status("sent")),
            event_id("meta", &status("read"))
        );
        assert_ne!(
            event_id("meta", &status("sent")),
            event_id("autocalls", &status("sent"))
        );
    }

    #[test]
    fn times_are_iso_8601() {
        let detail = detail("meta", &status("sent"), "e", 1_764_497_046_120, None);
        assert_eq!(detail["occurred_at"], "2025-11-30T10:04:05Z");
        assert_eq!(detail["received_at"], "2025-11-30T10:04:06.120Z");
        assert_eq!(detail["client_reference"], "order-1");
    }
}
