//! The rules of delivery statuses on memory stores and a memory bus: verification before
//! reading, events per status, order and duplicates, retries of refused entries, and
//! statuses that are stored but never published.

use super::StatusTracker;
use crate::error::Code;
use crate::infra::events::MemoryBus;
use crate::infra::secrets::{Fixed, Secret};
use crate::infra::statuses::{MemoryStatuses, SentRecord, StatusStore};
use crate::providers::{self, WebhookRequest};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

mod bounds;
mod order;
mod templates;

/// The fixtures are the providers' published examples, dated 2025: a maximum age of ten
/// years keeps them fresh (`bounds.rs` tests the age on statuses of its own).
const MAX_AGE_FOR_FIXTURES: u64 = 315_360_000;

const APP_SECRET: &str = "meta-app-secret-never-logged";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/events/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn sign(body: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, APP_SECRET.as_bytes());
    format!(
        "sha256={}",
        hex::encode(aws_lc_rs::hmac::sign(&key, body.as_bytes()).as_ref())
    )
}

struct Harness {
    tracker: StatusTracker,
    bus: Arc<MemoryBus>,
    store: Arc<MemoryStatuses>,
}

fn harness(with_table: bool) -> Harness {
    harness_aged(with_table, MAX_AGE_FOR_FIXTURES)
}

fn harness_aged(with_table: bool, max_age: u64) -> Harness {
    let secrets = Fixed {
        secrets: [
            (
                "meta".to_string(),
                Secret::new(
                    "meta",
                    "token",
                    json!({"app_secret": APP_SECRET, "verify_token": "verify-me"}),
                ),
            ),
            (
                "autocalls".to_string(),
                Secret::new("autocalls", "key", json!({"webhook_token": "tok-123"})),
            ),
        ]
        .into(),
        fingerprint_key: None,
    };
    let bus = Arc::new(MemoryBus::default());
    let store = Arc::new(MemoryStatuses::default());
    let tracker = StatusTracker::new(
        Arc::new(secrets),
        match with_table {
            true => store.clone() as Arc<dyn StatusStore>,
            false => Arc::new(crate::infra::statuses::NoStatuses),
        },
        bus.clone(),
        Duration::from_secs(2_592_000),
        Duration::from_secs(max_age),
    );
    Harness {
        tracker,
        bus,
        store,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

impl Harness {
    async fn post(
        &self,
        provider: &str,
        body: &str,
        signature: Option<&str>,
        token: Option<&str>,
    ) -> Result<super::Received, crate::error::ApiError> {
        let header = move |name: &str| {
            (name == "x-hub-signature-256")
                .then_some(signature)
                .flatten()
        };
        let query = move |name: &str| (name == "token").then_some(token).flatten();
        let request = WebhookRequest {
            header: &header,
            query: &query,
            body: body.as_bytes(),
        };
        self.tracker
            .receive(providers::find(provider).unwrap(), &request, soon())
            .await
    }

    async fn meta(&self, body: &str) -> Result<super::Received, crate::error::ApiError> {
        self.post("meta", body, Some(&sign(body)), None).await
    }

    fn events(&self) -> Vec<Value> {
        self.bus
            .events
            .lock()
            .unwrap()
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn each_meta_example_gives_its_event() {
    let h = harness(false);
    for (name, status) in [
        ("meta-sent.json", "sent"),
        ("meta-delivered.json", "delivered"),
        ("meta-read.json", "read"),
        ("meta-failed.json", "failed"),
    ] {
        let received = h.meta(&fixture(name)).await.unwrap();
        assert_eq!((received.statuses, received.published), (1, 1), "{name}");
        let event = h.events().pop().unwrap();
        assert_eq!(event["status"], status, "{name}");
        assert_eq!(event["provider"], "meta");
        assert!(
            event["to"].as_str().unwrap().ends_with("1234")
                || event["to"].as_str().unwrap().ends_with("5678")
        );
        assert!(
            !event.to_string().contains("6505551234") && !event.to_string().contains("6505555678")
        );
    }
    let events = h.events();
    assert_eq!(
        events[0]["pricing"],
        json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "utility"})
    );
    assert_eq!(
        events[0]["client_reference"], "order-8812",
        "Meta's biz_opaque_callback_data"
    );
    assert_eq!(events[0]["occurred_at"], "2025-11-30T10:04:05Z");
    assert_eq!(
        events[3]["error"],
        json!({"code": "PROVIDER_REJECTED", "message": "Message Undeliverable.", "provider_code": "131026", "retryable": false})
    );
    // An incoming message carries no status: counted, nothing published.
    let incoming = h.meta(&fixture("meta-incoming.json")).await.unwrap();
    assert_eq!(
        (incoming.statuses, incoming.others, incoming.published),
        (0, 1, 0)
    );
    assert!(!h
        .bus
        .events
        .lock()
        .unwrap()
        .join("")
        .contains("another color"));
}

#[tokio::test]
async fn a_meta_failure_without_errors_and_an_unknown_word_are_still_events() {
    let h = harness(false);
    let status = |id: &str, word: &str| json!({"id": id, "status": word, "timestamp": "1764497045", "recipient_id": "16505551234"});
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "statuses": [status("wamid.F", "FAILED"), status("wamid.D", "deleted")]}}]}]})
    .to_string();
    let received = h.meta(&body).await.unwrap();
    assert_eq!((received.statuses, received.published), (2, 2));
    let events = h.events();
    assert_eq!(
        (&events[0]["status"], &events[0]["provider_status"]),
        (&json!("failed"), &json!("failed"))
    );
    assert_eq!(
        events[0]["error"],
        json!({"code": "PROVIDER_REJECTED", "message": "meta reported the message as failed", "provider_code": null, "retryable": false})
    );
    assert_eq!(
        (
            &events[1]["status"],
            &events[1]["provider_status"],
            &events[1]["error"]
        ),
        (&json!("unknown"), &json!("deleted"), &Value::Null)
    );
}

#[tokio::test]
async fn a_missing_wrong_or_reserialised_signature_is_refused_and_nothing_is_published() {
    let h = harness(false);
    let body = fixture("meta-failed.json");
    let reserialised =
        serde_json::to_string(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
    assert_ne!(
        reserialised,
        body.trim(),
        "Meta's escaping does not survive a round trip"
    );
    for (signature, sent) in [
        (None, body.as_str()),
        (Some("sha256=00".to_string()), body.as_str()),
        (Some(sign(&body)), reserialised.as_str()),
        (Some(sign(&body).replace("sha256=", "")), body.as_str()),
    ] {
        let error = h
            .post("meta", sent, signature.as_deref(), None)
            .await
            .unwrap_err();
        assert_eq!(error.code, Code::WebhookUnauthorized);
        assert!(!error.message.contains("sha256"));
    }
    assert!(h.events().is_empty());
}

#[tokio::test]
async fn the_handshake_echoes_the_challenge_only_for_our_token() {
    let h = harness(false);
    let meta = providers::find("meta").unwrap();
    for (token, mode, want) in [
        (Some("verify-me"), "subscribe", Ok("1158201444".to_string())),
        (Some("wrong"), "subscribe", Err(())),
        (None, "subscribe", Err(())),
        (Some("verify-me"), "unsubscribe", Err(())),
    ] {
        let mut asked: std::collections::HashMap<&str, String> = [
            ("hub.mode", mode.to_string()),
            ("hub.challenge", "1158201444".to_string()),
        ]
        .into();
        if let Some(token) = token {
            asked.insert("hub.verify_token", token.to_string());
        }
        let query = |name: &str| asked.get(name).map(String::as_str);
        let none = |_: &str| None;
        let request = WebhookRequest {
            header: &none,
            query: &query,
            body: &[],
        };
        let answer = h
            .tracker
            .handshake(meta, &request, soon())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.map_err(|_| ()), want);
    }
}

fn many_statuses(entries: usize, per_entry: usize) -> String {
    let entry = |e: usize| {
        let statuses: Vec<Value> = (0..per_entry)
            .map(|s| json!({"id": format!("wamid.M{e}-{s}"), "status": "sent", "timestamp": "1764497045", "recipient_id": "16505551234"}))
            .collect();
        json!({"id": "102290129340398", "changes": [{"value": {"messaging_product": "whatsapp", "statuses": statuses}, "field": "messages"}]})
    };
    json!({"object": "whatsapp_business_account", "entry": (0..entries).map(entry).collect::<Vec<_>>()}).to_string()
}

#[tokio::test]
async fn a_thousand_statuses_are_put_a_few_calls_at_once() {
    let h = harness(false);
    *h.bus.call_time.lock().unwrap() = Duration::from_millis(20);
    let received = h.meta(&many_statuses(10, 100)).await.unwrap();
    assert_eq!((received.statuses, received.published), (1000, 1000));
    let calls = h.bus.calls.lock().unwrap().clone();
    assert_eq!((calls.len(), calls.iter().max()), (100, Some(&10)));
    assert_eq!(
        h.bus
            .most_in_flight
            .load(std::sync::atomic::Ordering::SeqCst),
        8,
        "calls in flight at once"
    );
    assert_eq!(h.events().len(), 1000);
}

#[tokio::test]
async fn forty_statuses_are_put_ten_at_a_time_and_a_refused_entry_is_retried() {
    let h = harness(false);
    *h.bus.refuse_entries.lock().unwrap() = 1;
    let received = h.meta(&many_statuses(3, 14)).await.unwrap();
    assert_eq!((received.statuses, received.published), (42, 42));
    let calls = h.bus.calls.lock().unwrap().clone();
    assert!(calls.iter().all(|n| *n <= 10), "{calls:?}");
    assert_eq!(
        calls.last(),
        Some(&1),
        "the refused entry, again: {calls:?}"
    );
    assert_eq!(h.events().len(), 42);
    // A bus that refuses every call: 503, so that Meta delivers the webhook again.
    let down = harness(false);
    *down.bus.refuse_calls.lock().unwrap() = 1000;
    let error = down.meta(&many_statuses(1, 2)).await.unwrap_err();
    assert_eq!(
        (error.code, error.is_retryable()),
        (Code::StatusUnavailable, true)
    );
}

#[tokio::test]
async fn autocalls_is_received_with_the_urls_token_and_undelivered_is_failed() {
    let h = harness(false);
    let body = fixture("autocalls-undelivered.json");
    let received = h
        .post("autocalls", &body, None, Some("tok-123"))
        .await
        .unwrap();
    assert_eq!(received.published, 1);
    let event = h.events().pop().unwrap();
    assert_eq!(
        (event["status"].as_str(), event["provider_status"].as_str()),
        (Some("failed"), Some("undelivered"))
    );
    assert_eq!(event["message_id"], "SMxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    assert_eq!(event["error"]["provider_code"], "63016");
    for token in [None, Some("tok-12"), Some("wrong")] {
        assert_eq!(
            h.post("autocalls", &body, None, token)
                .await
                .unwrap_err()
                .code,
            Code::WebhookUnauthorized
        );
    }
    assert_eq!(h.events().len(), 1);
}
