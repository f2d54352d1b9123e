//! The event of one status (docs/statuses.md, "The event"): its stable id, our word and the
//! provider's, when it happened and when we heard of it, whom it was for (masked), and why
//! it failed.

use crate::domain::status::Status;
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
