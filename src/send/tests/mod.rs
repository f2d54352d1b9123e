//! The rules of keyed sends (docs/guarantees.md, "Idempotency"), each on the in-memory store,
//! with faults put where they hurt: the provider is a wiremock stub (the test-only `echo`
//! provider), the secrets are fixed, and the store is told to fail a given call.

use super::{Context, Invocation};
use crate::error::Code;
use crate::infra::epoch_secs;
use crate::infra::idempotency::{IdempotencyStore, Memory, Operation, Record, State, VERSION};
use crate::infra::metrics::MetricsSink;
use crate::infra::secrets::{FingerprintKey, Fixed, Secret};
use crate::send::outcome::Outcome;
use crate::{App, Config};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

mod faults;

const FINGERPRINT_KEY: &str = "a-fingerprint-key-of-at-least-32-characters";

struct Harness {
    app: App,
    store: Arc<Memory>,
    /// The limit every send takes its slot from, as a shared table would keep it.
    limiter: Arc<crate::infra::pacing::Pacers>,
    provider: MockServer,
}

async fn harness_with(vars: &[(&str, &str)], fingerprint_key: bool) -> Harness {
    let provider = MockServer::start().await;
    let uri = provider.uri();
    let mut all = vec![
        ("PROVIDER_SECRET_ID", "unused"),
        ("ECHO_BASE_URL", uri.as_str()),
        ("IDEMPOTENCY_TABLE", "memory"),
        ("PROVIDER_TIMEOUT_MS", "3000"),
        ("MIN_ATTEMPT_MS", "500"),
    ];
    all.extend_from_slice(vars);
    let config = Config::from_lookup(|k| {
        all.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let secrets: Arc<dyn crate::infra::secrets::Secrets> = Arc::new(Fixed {
        secrets: [(
            "echo".to_string(),
            Secret::new("echo", "echo-key", Value::Null),
        )]
        .into(),
        fingerprint_key: fingerprint_key.then(|| FingerprintKey::new(FINGERPRINT_KEY).unwrap()),
    });
    let store = Arc::new(Memory::default());
    let limiter = Arc::new(crate::infra::pacing::Pacers::new(&config.limits()));
    let seams = crate::Seams {
        records: store.clone() as Arc<dyn IdempotencyStore>,
        limiter: limiter.clone(),
        ..crate::Seams::bare(&config, secrets)
    };
    let app = App::with_parts(config, MetricsSink::Buffer(Arc::default()), seams);
    Harness {
        app,
        store,
        limiter,
        provider,
    }
}

async fn harness() -> Harness {
    harness_with(&[], true).await
}

fn request(key: &str) -> String {
    json!({"provider": "echo", "to": "+1 415 555 0100", "template": "hello",
           "variables": ["483920"], "idempotency_key": key})
    .to_string()
}

impl Harness {
    async fn answers(&self, response: ResponseTemplate) {
        self.provider.reset().await;
        Mock::given(method("POST"))
            .respond_with(response)
            .mount(&self.provider)
            .await;
    }

    async fn send_as(&self, text: &str, scope: &str, time_left: Duration) -> Outcome {
        let invocation = Invocation::new("r-1", time_left);
        let context = Context {
            invocation: &invocation,
            default_key: None,
            scope,
            caller: None,
        };
        self.app.sender.send(text, &context).await
    }

    async fn send(&self, key: &str) -> Outcome {
        self.send_as(&request(key), "test", Duration::from_secs(10))
            .await
    }

    async fn sent(&self) -> usize {
        self.provider
            .received_requests()
            .await
            .unwrap_or_default()
            .len()
    }

    /// The one record of the store (each test uses one key).
    fn record(&self, key: &str) -> Record {
        self.store
            .record(&crate::send::record_id("test", key))
            .expect("a record")
    }
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": "e-1"}))
}

fn code(outcome: &Outcome) -> Option<Code> {
    outcome.result.as_ref().err().map(|e| e.code)
}

#[tokio::test]
async fn a_success_is_stored_and_replayed_and_sent_once() {
    let h = harness().await;
    h.answers(ok()).await;
    let first = h.send("k").await;
    assert!(first.result.is_ok() && !first.replay);
    let again = h.send("k").await;
    assert!(again.replay, "{:?}", again.result);
    assert_eq!(again.document()["message_id"], "e-1");
    assert_eq!(
        again.document()["to"],
        "+14155550100",
        "the replay's own number"
    );
    assert_eq!(h.sent().await, 1);
    let record = h.record("k");
    assert_eq!(
        (record.state, record.version),
        (Some(State::Done), Some(VERSION))
    );
    let stored = record.answer.unwrap();
    assert!(
        !stored.contains("4155550100") && !stored.contains("483920"),
        "{stored}"
    );
}

#[tokio::test]
async fn a_maybe_sent_failure_is_delivery_unknown_kept_21_days_and_never_sent_again() {
    let h = harness().await;
    h.answers(ResponseTemplate::new(500)).await;
    assert_eq!(code(&h.send("k").await), Some(Code::DeliveryUnknown));
    h.answers(ok()).await;
    let again = h.send("k").await;
    assert_eq!(
        (code(&again), again.replay),
        (Some(Code::DeliveryUnknown), true)
    );
    assert_eq!(
        h.sent().await,
        0,
        "after the reset, nothing more reached the provider"
    );
    let left = h.record("k").expires_at - epoch_secs();
    assert!((1_814_390..=1_814_400).contains(&left), "{left}");
}

#[tokio::test]
async fn a_documented_refusal_frees_the_key_so_that_the_fixed_retry_sends() {
    let h = harness().await;
    h.answers(ResponseTemplate::new(400).set_body_json(json!({})))
        .await;
    assert_eq!(code(&h.send("k").await), Some(Code::ProviderRejected));
    assert!(h
        .store
        .record(&crate::send::record_id("test", "k"))
        .is_none());
    h.answers(ok()).await;
    let retried = h.send("k").await;
    assert!(retried.result.is_ok() && !retried.replay);
}

#[tokio::test]
async fn only_a_stale_claimed_record_frees_its_key() {
    let h = harness().await;
    h.answers(ok()).await;
    let id = crate::send::record_id("test", "k");
    let stale = |state| Record {
        id: id.clone(),
        fingerprint: "whatever".into(),
        owner: "dead".into(),
        state: Some(state),
        lease_until: epoch_secs() - 10,
        expires_at: match state {
            State::Claimed => epoch_secs() - 10,
            _ => epoch_secs() + 1_000_000,
        },
        http_status: None,
        answer: None,
        version: Some(VERSION),
    };
    h.store.insert(stale(State::Claimed));
    assert!(
        h.send("k").await.result.is_ok(),
        "a stale claim frees the key"
    );
    assert_eq!(h.sent().await, 1);
}

#[tokio::test]
async fn a_live_record_is_in_flight_and_another_request_under_the_key_is_a_conflict() {
    let h = harness().await;
    h.answers(ok()).await;
    let id = crate::send::record_id("test", "k");
    h.send("k").await;
    let other = json!({"provider": "echo", "to": "+1 415 555 0100", "template": "other",
                       "idempotency_key": "k"})
    .to_string();
    let conflict = h.send_as(&other, "test", Duration::from_secs(10)).await;
    assert_eq!(code(&conflict), Some(Code::IdempotencyConflict));
    let mut record = h.store.record(&id).unwrap();
    record.state = Some(State::Sending);
    record.lease_until = epoch_secs() + 30;
    h.store.insert(record);
    assert_eq!(code(&h.send("k").await), Some(Code::IdempotencyConflict));
    assert_eq!(h.sent().await, 1);
}

#[tokio::test]
async fn a_stored_answer_of_another_version_says_it_was_sent() {
    let h = harness().await;
    h.answers(ok()).await;
    h.send("k").await;
    let mut record = h.record("k");
    record.version = Some(1);
    h.store.insert(record);
    let again = h.send("k").await;
    let error = again.result.unwrap_err();
    assert_eq!(
        (error.code, error.is_retryable()),
        (Code::DeliveryUnknown, false)
    );
    assert!(
        error.message.contains("was sent or may have been"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_slot_that_leaves_too_little_time_is_rate_limited_and_writes_no_record() {
    let h = harness_with(&[("ECHO_MAX_RPS", "1")], true).await;
    h.answers(ok()).await;
    let time = Duration::from_millis(2_000);
    assert!(h.send_as(&request("a"), "test", time).await.result.is_ok());
    let refused = h.send_as(&request("b"), "test", time).await;
    let error = refused.result.as_ref().unwrap_err();
    assert_eq!(error.code, Code::RateLimited);
    assert!(refused.retry_after().is_some_and(|s| s >= 1));
    assert!(h
        .store
        .record(&crate::send::record_id("test", "b"))
        .is_none());
    assert_eq!(h.sent().await, 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let h = harness().await;
    h.answers(ok()).await;
    let a = h
        .send_as(&request("k"), "iam:arn:a", Duration::from_secs(10))
        .await;
    let b = h
        .send_as(&request("k"), "iam:arn:b", Duration::from_secs(10))
        .await;
    assert!(!a.replay && !b.replay);
    assert_eq!(h.sent().await, 2);
}

#[tokio::test]
async fn without_a_fingerprint_key_a_keyed_send_is_a_configuration_error() {
    let h = harness_with(&[], false).await;
    h.answers(ok()).await;
    assert_eq!(code(&h.send("k").await), Some(Code::ConfigurationError));
    assert_eq!(h.sent().await, 0);
    assert!(h.store.calls().is_empty());
}
