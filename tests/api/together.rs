//! Faults that come together (docs/guarantees.md): the provider answers and DynamoDB refuses
//! the outcome's write, the function dies between the two, pacing meets a near deadline,
//! an operator fixes a refusal and the retry comes, one provider's throttling meets another
//! provider's sends, a batch is retried, and events too large for a send.

use crate::support::arrivals::Arrivals;
use crate::support::aws::{create_idempotency_table, dynamodb};
use crate::support::faulty_aws::{Fault, FaultyAws};
use crate::support::function::Launch;
use crate::support::*;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::time::Duration;
use wa_dispatch::infra::epoch_secs;
use wiremock::{MockServer, ResponseTemplate};

/// The record of `key` as the HTTP route's anonymous caller keeps it.
async fn record(
    table: &str,
    scope: &str,
    key: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    dynamodb()
        .await
        .get_item()
        .table_name(table)
        .key(
            "id",
            AttributeValue::S(wa_dispatch::send::record_id(scope, key)),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
}

async fn number(table: &str, scope: &str, key: &str, name: &str) -> u64 {
    let item = record(table, scope, key).await.expect("a record");
    item[name].as_n().unwrap().parse().unwrap()
}

/// Waits until the record's lease has ended: its invocation is certainly over.
async fn after_the_lease_of(table: &str, scope: &str, key: &str) {
    let lease = number(table, scope, key, "lease_until").await;
    while epoch_secs() <= lease {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn an_outcome_dynamodb_refused_to_store_is_never_sent_again_after_its_deadline() {
    setup();
    let faulty = FaultyAws::start().await;
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![
            ("IDEMPOTENCY_TABLE", table.clone()),
            ("MIN_ATTEMPT_MS", "500".into()),
        ],
        aws_endpoint: Some(faulty.url.clone()),
        ..Options::default()
    })
    .await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    faulty.fail("UpdateItem", Fault::Throttle, 1000);
    let event = http_v2(
        "POST",
        "/v1/messages",
        Some(keyed("order-w1").to_string()),
        &[],
    );
    let sent = HttpAnswer::from_envelope(
        t.invoke_with(event.clone(), Duration::from_secs(2))
            .await
            .unwrap(),
    );
    assert_eq!(
        sent.status, 200,
        "the caller gets the real answer: {:?}",
        sent.body
    );
    assert!(
        faulty
            .operations()
            .iter()
            .filter(|o| *o == "UpdateItem")
            .count()
            >= 2,
        "the write was retried"
    );
    after_the_lease_of(&table, "http", "order-w1").await;
    // An SQS-like redelivery long after: the record may have been sent, so nothing is sent.
    let again =
        HttpAnswer::from_envelope(t.invoke_with(event, Duration::from_secs(30)).await.unwrap());
    assert_eq!(
        (again.status, again.code()),
        (502, "DELIVERY_UNKNOWN"),
        "{:?}",
        again.body
    );
    assert!(again.replayed());
    assert_eq!(received(&t.stubs["autocalls"]).await, 1);
}

#[tokio::test]
async fn a_function_killed_between_the_providers_answer_and_the_write_sends_nothing_again() {
    setup();
    let faulty = FaultyAws::start().await;
    let table = create_idempotency_table().await;
    let autocalls = MockServer::start().await;
    accepts(&autocalls, "autocalls").await;
    let launch = || {
        Launch::new()
            .var("AWS_ENDPOINT_URL", faulty.url.clone())
            .var("IDEMPOTENCY_TABLE", table.clone())
            .var("AUTOCALLS_BASE_URL", autocalls.uri())
            .var("MIN_ATTEMPT_MS", "500")
    };
    let mut event = fixture("direct.json");
    event["idempotency_key"] = json!("order-k1");
    // The outcome's write never gets an answer, and the instance dies meanwhile.
    faulty.fail("UpdateItem", Fault::Hang, 1000);
    let mut dying = launch().start().await;
    let _pending = dying.invoke_later(event.clone(), Duration::from_secs(3));
    while received(&autocalls).await == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dying.kill().await;
    after_the_lease_of(&table, "direct", "order-k1").await;
    let fresh = launch().start().await;
    let again = fresh
        .invoke(event, Duration::from_secs(30))
        .await
        .expect("an answer");
    assert_eq!(again["error"]["code"], "DELIVERY_UNKNOWN", "{again}");
    assert_eq!(again["idempotent_replay"], true);
    assert_eq!(received(&autocalls).await, 1);
}

#[tokio::test]
async fn a_slot_that_comes_too_late_is_rate_limited_with_its_key_free_and_nothing_unknown() {
    setup();
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![
            ("IDEMPOTENCY_TABLE", table.clone()),
            ("AUTOCALLS_MAX_RPS", "1".into()),
            ("MIN_ATTEMPT_MS", "800".into()),
        ],
        ..Options::default()
    })
    .await;
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(200)
            .set_body_json(autocalls_success())
            .set_delay(Duration::from_millis(500)),
    )
    .await;
    let entries: Vec<Value> = (0..3).map(|i| keyed(&format!("slot-{i}"))).collect();
    let batch = json!({"messages": entries}).to_string();
    let event = http_v2("POST", "/v1/messages/batch", Some(batch), &[]);
    let answer =
        HttpAnswer::from_envelope(t.invoke_with(event, Duration::from_secs(3)).await.unwrap());
    let results = answer.body["results"].as_array().unwrap().clone();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["http_status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{results:?}"
    );
    let late: Vec<usize> = (0..3).filter(|i| statuses[*i] == 429).collect();
    assert_eq!(late.len(), 1, "{results:?}");
    assert_eq!(results[late[0]]["error"]["code"], "RATE_LIMITED");
    assert!(results
        .iter()
        .all(|r| r["error"]["code"] != "DELIVERY_UNKNOWN"));
    assert!(
        record(&table, "http", &format!("slot-{}", late[0]))
            .await
            .is_none(),
        "its key is free"
    );
    assert_eq!(received(&t.stubs["autocalls"]).await, 2);
    // A single send refused the same way says when to come back: three at once, the
    // third's slot two seconds away.
    let single = |key: &str| {
        let event = http_v2("POST", "/v1/messages", Some(keyed(key).to_string()), &[]);
        t.invoke_with(event, Duration::from_secs(3))
    };
    let (a, b, c) = tokio::join!(single("single-a"), single("single-b"), single("single-c"));
    let answers: Vec<HttpAnswer> = [a, b, c]
        .into_iter()
        .map(|a| HttpAnswer::from_envelope(a.unwrap()))
        .collect();
    let refused: Vec<&HttpAnswer> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(
        !refused.is_empty(),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for answer in refused {
        assert_eq!(answer.code(), "RATE_LIMITED");
        assert!(answer.headers["retry-after"].parse::<u64>().unwrap() >= 1);
    }
    let sent = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(received(&t.stubs["autocalls"]).await, 2 + sent);
}

#[tokio::test]
async fn a_fixed_402_sends_on_the_retry_while_successes_and_unknowns_are_replayed() {
    setup();
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", table.clone())],
        ..Options::default()
    })
    .await;
    let balance = json!({"success": false, "error": "Insufficient balance", "error_code": "INSUFFICIENT_BALANCE"});
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(402).set_body_json(balance),
    )
    .await;
    let refused = t.post("/v1/messages", &keyed("topped-up")).await;
    assert_eq!(
        (refused.status, refused.code()),
        (402, "INSUFFICIENT_BALANCE")
    );
    // The operator tops the account up; the retry is a send, not a replay.
    t.stubs["autocalls"].reset().await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    let sent = t.post("/v1/messages", &keyed("topped-up")).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert!(!sent.replayed());
    let replayed = t.post("/v1/messages", &keyed("topped-up")).await;
    assert!(replayed.replayed() && replayed.status == 200);
    assert_eq!(received(&t.stubs["autocalls"]).await, 1);
    // A maybe-sent outcome is replayed, and kept 21 days.
    t.stubs["autocalls"].reset().await;
    answer_every_post(&t.stubs["autocalls"], ResponseTemplate::new(500)).await;
    let unknown = t.post("/v1/messages", &keyed("unknown")).await;
    assert_eq!(unknown.code(), "DELIVERY_UNKNOWN");
    assert!(t.post("/v1/messages", &keyed("unknown")).await.replayed());
    let left = number(&table, "http", "unknown", "expires_at").await - epoch_secs();
    assert!(
        (1_814_390..=1_814_400).contains(&left),
        "expires in {left} s"
    );
}

#[tokio::test]
async fn direct_failures_error_makes_a_failed_direct_send_a_function_error_named_by_its_code() {
    setup();
    let autocalls = MockServer::start().await;
    let refusal = json!({"success": false, "error": "Insufficient balance", "error_code": "INSUFFICIENT_BALANCE"});
    answer_every_post(
        &autocalls,
        ResponseTemplate::new(402).set_body_json(refusal),
    )
    .await;
    let erroring = Launch::new()
        .var("AUTOCALLS_BASE_URL", autocalls.uri())
        .var("DIRECT_FAILURES", "error")
        .start()
        .await;
    let failed = erroring
        .invoke(fixture("direct.json"), Duration::from_secs(10))
        .await;
    let error = failed.expect_err("a function error");
    assert_eq!(error["errorType"], "INSUFFICIENT_BALANCE", "{error}");
    let answering = Launch::new()
        .var("AUTOCALLS_BASE_URL", autocalls.uri())
        .start()
        .await;
    let answer = answering
        .invoke(fixture("direct.json"), Duration::from_secs(10))
        .await
        .expect("an answer");
    assert_eq!(
        (
            answer["http_status"].as_u64(),
            answer["error"]["code"].as_str()
        ),
        (Some(402), Some("INSUFFICIENT_BALANCE"))
    );
}

#[tokio::test]
async fn one_paced_provider_never_holds_back_another_providers_send() {
    let t = TestApp::with(Options {
        vars: vec![
            ("AUTOCALLS_MAX_RPS", "1".into()),
            ("MAX_CONCURRENCY", "2".into()),
        ],
        ..Options::default()
    })
    .await;
    let autocalls = Arrivals::default();
    autocalls
        .serve(
            &t.stubs["autocalls"],
            autocalls_success(),
            Duration::ZERO,
            None,
        )
        .await;
    let bitbybit = Arrivals::default();
    bitbybit
        .serve(
            &t.stubs["bitbybit"],
            bitbybit_success(),
            Duration::ZERO,
            None,
        )
        .await;
    let mut messages: Vec<Value> = (0..6).map(|_| autocalls_request()).collect();
    messages.push(bitbybit_request());
    let batch = json!({"messages": messages}).to_string();
    let answer = t
        .http(http_v2("POST", "/v1/messages/batch", Some(batch), &[]))
        .await;
    let results = answer.body["results"].as_array().unwrap();
    assert!(
        results.iter().all(|r| r["http_status"] == 200),
        "{results:?}"
    );
    let autocalls_times = autocalls.times();
    let bitbybit_at = bitbybit.times()[0];
    // Six autocalls sends at one per second take five seconds; bitbybit's went among the first.
    let before = autocalls_times.iter().filter(|t| **t < bitbybit_at).count();
    assert!(
        before <= 2,
        "bitbybit waited behind {before} autocalls sends"
    );
}

#[tokio::test]
async fn autocalls_failed_status_is_a_refusal_even_with_success_true() {
    let t = TestApp::start().await;
    let mut answer = autocalls_success();
    answer["status"] = json!("failed");
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(200).set_body_json(answer),
    )
    .await;
    let refused = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!((refused.status, refused.code()), (422, "PROVIDER_REJECTED"));
    assert_eq!(refused.body["error"]["provider_code"], "failed");
}

#[tokio::test]
async fn the_same_batch_sent_twice_under_one_idempotency_key_sends_each_entry_once() {
    setup();
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", table)],
        ..Options::default()
    })
    .await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    accepts(&t.stubs["bitbybit"], "bitbybit").await;
    let batch = json!({"messages": [autocalls_request(), bitbybit_request(), autocalls_request()]})
        .to_string();
    let send = || {
        http_v2(
            "POST",
            "/v1/messages/batch",
            Some(batch.clone()),
            &[("Idempotency-Key", "batch-7")],
        )
    };
    let first = t.http(send()).await;
    let second = t.http(send()).await;
    let replays: Vec<&Value> = second.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["idempotent_replay"])
        .collect();
    assert_eq!(
        replays,
        [&json!(true), &json!(true), &json!(true)],
        "{:?}",
        second.body
    );
    assert!(first.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["http_status"] == 200));
    assert_eq!(
        (
            received(&t.stubs["autocalls"]).await,
            received(&t.stubs["bitbybit"]).await
        ),
        (2, 1)
    );
}

#[tokio::test]
async fn a_send_request_over_64_kib_is_413_and_a_long_unknown_field_is_named_in_64_characters() {
    let t = TestApp::start().await;
    let mut big = autocalls_request();
    big["client_reference"] = json!("x".repeat(100 * 1024));
    let answer = t.invoke(big).await.expect("an answer");
    assert_eq!(
        (
            answer["http_status"].as_u64(),
            answer["error"]["code"].as_str()
        ),
        (Some(413), Some("PAYLOAD_TOO_LARGE"))
    );
    let name = "y".repeat(10_000);
    let mut odd = autocalls_request();
    odd[&name] = json!(1);
    let answer = t.invoke(odd).await.expect("an answer");
    assert_eq!(answer["http_status"], 400);
    let field = answer["error"]["field"].as_str().unwrap();
    assert!(
        field.chars().count() <= 64 && name.starts_with(field),
        "{field}"
    );
    assert!(
        answer.to_string().len() < 2_000,
        "the name is not echoed whole"
    );
    assert_eq!(received(&t.stubs["autocalls"]).await, 0);
}

#[tokio::test]
async fn a_batch_with_an_unusable_idempotency_key_header_is_refused_whole() {
    let t = TestApp::start().await;
    let batch = json!({"messages": [autocalls_request()]}).to_string();
    let long = "k".repeat(129);
    let answer = t
        .http(http_v2(
            "POST",
            "/v1/messages/batch",
            Some(batch.clone()),
            &[("Idempotency-Key", &long)],
        ))
        .await;
    assert_eq!(
        (answer.status, answer.field()),
        (400, Some("Idempotency-Key"))
    );
    // A header of 128 characters keys each entry past 128 with its index: accepted.
    accepts(&t.stubs["autocalls"], "autocalls").await;
    let longest = "k".repeat(128);
    let answer = t
        .http(http_v2(
            "POST",
            "/v1/messages/batch",
            Some(batch),
            &[("Idempotency-Key", &longest)],
        ))
        .await;
    assert_eq!(
        answer.body["results"][0]["http_status"], 200,
        "{:?}",
        answer.body
    );
    assert_eq!(received(&t.stubs["autocalls"]).await, 1);
}
