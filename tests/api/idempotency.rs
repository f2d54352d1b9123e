//! Idempotency against moto's DynamoDB: one table per test, a key sent at most once,
//! replays, conflicts, retryable failures freeing the key, expiry, and an outage.

use crate::support::aws::{create_idempotency_table, dynamodb, Mode};
use crate::support::*;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use std::time::Duration;
use wa_dispatch::infra::epoch_secs;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const ROUTE: &str = "/api/user/whatsapp/send";

/// A fresh table and an App that uses it.
async fn app_with_table() -> (TestApp, String) {
    setup();
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", table.clone())],
        ..Default::default()
    })
    .await;
    (t, table)
}

async fn provider_answers(t: &TestApp, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(ROUTE))
        .respond_with(response)
        .mount(&t.stubs["autocalls"])
        .await;
}

async fn sends(t: &TestApp) -> usize {
    t.stubs["autocalls"]
        .received_requests()
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_same_request_sent_twice_answers_the_same_document_twice_and_reaches_the_provider_once()
{
    let (t, _) = app_with_table().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    let first = t.post("/v1/messages", &keyed("order-1")).await;
    let second = t.post("/v1/messages", &keyed("order-1")).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert!(!first.replayed());
    assert_eq!((second.status, &second.body), (200, &first.body));
    assert!(second.replayed());
    assert_eq!(sends(&t).await, 1);
    assert_eq!(
        t.metrics.lock().unwrap().len(),
        1,
        "one Sent metric: a replay sends nothing"
    );
}

#[tokio::test]
async fn two_concurrent_sends_with_one_key_reach_the_provider_once_and_the_other_is_a_conflict() {
    let (t, _) = app_with_table().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200)
            .set_body_json(autocalls_success())
            .set_delay(Duration::from_millis(500)),
    )
    .await;
    let body = keyed("order-2");
    let (a, b) = tokio::join!(t.post("/v1/messages", &body), t.post("/v1/messages", &body));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{:?} {:?}", a.body, b.body);
    let conflict = if a.status == 409 { a } else { b };
    assert_eq!(conflict.code(), "IDEMPOTENCY_CONFLICT");
    assert_eq!(conflict.body["error"]["retryable"], true);
    assert!(conflict.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("in flight"));
    assert_eq!(sends(&t).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_a_conflict_and_nothing_more_is_sent() {
    let (t, _) = app_with_table().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    assert_eq!(t.post("/v1/messages", &keyed("order-3")).await.status, 200);
    let mut other = keyed("order-3");
    other["variables"] = json!(["Someone else", "January 16, 2026"]);
    let answer = t.post("/v1/messages", &other).await;
    assert_eq!(
        (answer.status, answer.code()),
        (409, "IDEMPOTENCY_CONFLICT")
    );
    assert!(answer.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("different request"));
    // What does not change the message does not change the request.
    let mut same = keyed("order-3");
    same["client_reference"] = json!("another-reference");
    assert!(t.post("/v1/messages", &same).await.replayed());
    assert_eq!(sends(&t).await, 1);
}

#[tokio::test]
async fn an_sqs_batch_holding_one_message_id_twice_sends_once() {
    let (t, _) = app_with_table().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    let mut event = fixture("sqs-batch.json");
    let record = event["Records"][0].clone();
    let id = record["messageId"].as_str().unwrap().to_string();
    event["Records"] = json!([record.clone(), record]);
    let response = t
        .invoke(event.clone())
        .await
        .expect("the batch is answered");
    assert_eq!(sends(&t).await, 1);
    // When both records ran at once, the second found the first in flight: SQS retries it.
    for failure in response["batchItemFailures"].as_array().unwrap() {
        assert_eq!(failure["itemIdentifier"], id.as_str());
    }
    // The redelivery replays the first send's success: done, and not sent again.
    let again = t.invoke(event).await.expect("the batch is answered");
    assert_eq!(again["batchItemFailures"], json!([]));
    assert_eq!(sends(&t).await, 1);
}

#[tokio::test]
async fn a_provider_500_is_final_under_a_key_and_a_422_frees_it_for_the_fixed_retry() {
    let (t, _) = app_with_table().await;
    Mock::given(method("POST"))
        .and(path(ROUTE))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"})))
        .up_to_n_times(1)
        .mount(&t.stubs["autocalls"])
        .await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    // The 500 may have come after the provider sent the message (docs/guarantees.md).
    let failed = t.post("/v1/messages", &keyed("order-5")).await;
    assert_eq!((failed.status, failed.code()), (502, "DELIVERY_UNKNOWN"));
    let retried = t.post("/v1/messages", &keyed("order-5")).await;
    assert_eq!((retried.status, &retried.body), (502, &failed.body));
    assert!(retried.replayed());
    assert_eq!(sends(&t).await, 1);

    t.stubs["autocalls"].reset().await;
    let refusal = json!({"success": false, "error": "As the provider says", "error_code": "TEMPLATE_NOT_APPROVED"});
    provider_answers(&t, ResponseTemplate::new(422).set_body_json(refusal)).await;
    let refused = t.post("/v1/messages", &keyed("order-6")).await;
    assert_eq!(
        (refused.status, refused.code()),
        (422, "TEMPLATE_NOT_APPROVED")
    );
    // A documented refusal sent nothing (changed 2026-12-01: it used to be replayed): once
    // the operator has the template approved, the retry sends.
    t.stubs["autocalls"].reset().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    let retried = t.post("/v1/messages", &keyed("order-6")).await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert!(!retried.replayed());
    assert_eq!(sends(&t).await, 1);
}

#[tokio::test]
async fn a_record_left_in_flight_by_a_dead_invocation_no_longer_blocks_once_it_expires() {
    let (t, table) = app_with_table().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    let client = dynamodb().await;
    // A claim of the current format: `claimed` (the dead invocation never reached the
    // provider), whose lease has ended or not.
    for (key, lease) in [("expired", epoch_secs() - 1), ("alive", epoch_secs() + 600)] {
        client
            .put_item()
            .table_name(&table)
            .item(
                "id",
                AttributeValue::S(wa_dispatch::send::record_id("http", key)),
            )
            .item(
                "fingerprint",
                AttributeValue::S("whatever the dead invocation sent".into()),
            )
            .item("state", AttributeValue::S("claimed".into()))
            .item("owner", AttributeValue::S("dead".into()))
            .item("lease_until", AttributeValue::N(lease.to_string()))
            .item("expires_at", AttributeValue::N(lease.to_string()))
            .send()
            .await
            .expect("put item");
    }
    let freed = t.post("/v1/messages", &keyed("expired")).await;
    assert_eq!(freed.status, 200, "{:?}", freed.body);
    let blocked = t.post("/v1/messages", &keyed("alive")).await;
    assert_eq!(
        (blocked.status, blocked.code()),
        (409, "IDEMPOTENCY_CONFLICT")
    );
    assert_eq!(sends(&t).await, 1);
    // The record now holds the answer until the TTL, not the invocation's deadline.
    let item = client
        .get_item()
        .table_name(&table)
        .key(
            "id",
            AttributeValue::S(wa_dispatch::send::record_id("http", "expired")),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert_eq!(item["state"].as_s().unwrap(), "done");
    let expires_at: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert!(
        expires_at >= epoch_secs() + 86_000,
        "expires_at {expires_at}"
    );
}

#[tokio::test]
async fn an_unreachable_dynamodb_refuses_the_send_with_idempotency_unavailable() {
    let (t, _) = app_with_table().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    // The secret is read before the claim (its fingerprint key is the claim's): once it is
    // cached, DynamoDB alone is down.
    assert_eq!(
        t.post("/v1/messages", &keyed("order-7-warm")).await.status,
        200
    );
    t.aws.set_mode(Mode::Refuse);
    let answer = t.post("/v1/messages", &keyed("order-7")).await;
    assert_eq!(
        (answer.status, answer.code()),
        (503, "IDEMPOTENCY_UNAVAILABLE"),
        "{:?}",
        answer.body
    );
    assert_eq!(answer.body["error"]["retryable"], true);
    assert_eq!(sends(&t).await, 1, "only the warm-up was sent");
}

#[tokio::test]
async fn without_an_idempotency_table_the_same_key_twice_sends_twice() {
    let t = TestApp::start().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    for _ in 0..2 {
        let answer = t.post("/v1/messages", &keyed("order-8")).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert!(!answer.replayed());
    }
    assert_eq!(sends(&t).await, 2);
}

#[tokio::test]
async fn a_configuration_error_under_a_key_frees_it_once_the_operator_fixes_the_secret() {
    setup();
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", table)],
        secret: Some(json!({"bitbybit": {"api_key": BITBYBIT_KEY}}).to_string()),
        ..Options::default()
    })
    .await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    let missing = t.post("/v1/messages", &keyed("order-9")).await;
    assert_eq!(
        (missing.status, missing.code()),
        (500, "CONFIGURATION_ERROR")
    );
    // Nothing was sent: the key is free once the secret holds the provider.
    crate::support::aws::put_secret(&t.secret_id, &default_secret()).await;
    let t = TestApp::with(Options {
        vars: vec![
            (
                "IDEMPOTENCY_TABLE",
                t.app.config.idempotency_table.clone().unwrap(),
            ),
            ("PROVIDER_SECRET_ID", t.secret_id.clone()),
        ],
        ..Options::default()
    })
    .await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    let sent = t.post("/v1/messages", &keyed("order-9")).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert!(!sent.replayed());
}

/// A dead letter redriven comes back with a new `messageId` (docs/guarantees.md, "Dead
/// letters"): a body without a key of its own is then a new send, and only a body that
/// carries its `idempotency_key` sends nothing again.
#[tokio::test]
async fn a_redriven_record_is_a_new_send_unless_its_body_carries_its_key() {
    let (t, _) = app_with_table().await;
    provider_answers(
        &t,
        ResponseTemplate::new(200).set_body_json(autocalls_success()),
    )
    .await;
    let record = |message_id: &str, body: &serde_json::Value| {
        let mut record = fixture("sqs-batch.json")["Records"][0].clone();
        record["messageId"] = json!(message_id);
        record["body"] = json!(body.to_string());
        json!({ "Records": [record] })
    };
    let keyless = autocalls_request();
    for message_id in ["first-delivery", "redriven-as-a-new-message"] {
        let answer = t.invoke(record(message_id, &keyless)).await.unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]));
    }
    assert_eq!(sends(&t).await, 2, "a keyless body redriven is sent again");
    let keyed_body = keyed("order-redrive");
    for message_id in ["first-delivery-2", "redriven-as-a-new-message-2"] {
        let answer = t.invoke(record(message_id, &keyed_body)).await.unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]));
    }
    assert_eq!(sends(&t).await, 3, "a body with its own key is sent once");
}

/// The `Idempotency-Key` header of a single send is 1 to 128 printable characters, as a key
/// in the body is (only a batch's keys made from it carry their index past them).
#[tokio::test]
async fn a_single_sends_idempotency_key_header_over_128_characters_is_refused() {
    let (t, _) = app_with_table().await;
    let header = "k".repeat(130);
    let event = http_v2(
        "POST",
        "/v1/messages",
        Some(autocalls_request().to_string()),
        &[("Idempotency-Key", header.as_str())],
    );
    let answer = t.http(event).await;
    assert_eq!(
        (answer.status, answer.code(), answer.field()),
        (400, "INVALID_REQUEST", Some("Idempotency-Key"))
    );
    assert_eq!(sends(&t).await, 0);
}
