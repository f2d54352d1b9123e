//! SQS, EventBridge and direct invocations end to end: the built binary driven through the
//! Lambda Runtime API, against stub providers that record arrivals.

use crate::support::arrivals::Arrivals;
use crate::support::function::Launch;
use crate::support::runtime::Runtime;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Stubs {
    bitbybit: MockServer,
    autocalls: MockServer,
}

impl Stubs {
    async fn start() -> Stubs {
        setup();
        Stubs {
            bitbybit: MockServer::start().await,
            autocalls: MockServer::start().await,
        }
    }

    async fn function(&self, extra: &[(&'static str, &str)]) -> Runtime {
        Launch::new()
            .providers(&self.bitbybit, &self.autocalls)
            .var("PROVIDER_TIMEOUT_MS", "3000")
            .vars(extra)
            .start()
            .await
    }
}

fn sqs_record(message_id: &str, body: &str) -> Value {
    let mut record = fixture("sqs-batch.json")["Records"][0].clone();
    record["messageId"] = json!(message_id);
    record["body"] = json!(body);
    record
}

fn failures(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_sample_sqs_batch_reports_only_its_bad_record() {
    let stubs = Stubs::start().await;
    let arrivals = Arrivals::default();
    arrivals
        .serve(&stubs.autocalls, autocalls_success(), Duration::ZERO, None)
        .await;
    let function = stubs.function(&[]).await;
    let answer = function
        .invoke(fixture("sqs-batch.json"), Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
    );
    assert_eq!(arrivals.bodies().len(), 1);
    let output = function.output();
    assert!(
        output.contains("059f36b4-87a3-44ab-83d2-661975830a7d") && output.contains("order-8818"),
        "one line per record"
    );
    assert_nothing_forbidden(&output);
}

#[tokio::test]
async fn an_sqs_batch_of_ten_reports_exactly_its_three_failures() {
    let stubs = Stubs::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"template_id": 500})))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream error"))
        .expect(1)
        .mount(&stubs.autocalls)
        .await;
    let arrivals = Arrivals::default();
    arrivals
        .serve(&stubs.autocalls, autocalls_success(), Duration::ZERO, None)
        .await;
    let mut records = vec![];
    for i in 1..=7 {
        records.push(sqs_record(&format!("good-{i}"), &json!({"provider": "autocalls", "to": PHONE_US, "template": i, "client_reference": format!("ref-{i}")}).to_string()));
    }
    records.push(sqs_record("bad-json", "{\"provider\": \"autocalls\", "));
    records.push(sqs_record(
        "bad-phone",
        &json!({"provider": "autocalls", "to": "+1 415 555", "template": 1}).to_string(),
    ));
    records.push(sqs_record(
        "provider-500",
        &json!({"provider": "autocalls", "to": PHONE_US, "template": 500}).to_string(),
    ));
    let function = stubs.function(&[]).await;
    let answer = function
        .invoke(json!({"Records": records}), Duration::from_secs(20))
        .await
        .unwrap();
    let mut failed = failures(&answer);
    failed.sort();
    assert_eq!(failed, ["bad-json", "bad-phone", "provider-500"]);
    let mut templates: Vec<u64> = arrivals
        .bodies()
        .iter()
        .map(|b| b["template_id"].as_u64().unwrap())
        .collect();
    templates.sort();
    assert_eq!(
        templates,
        [1, 2, 3, 4, 5, 6, 7],
        "each good record reached the provider once"
    );
    assert_nothing_forbidden(&function.output());
}

#[tokio::test]
async fn thirty_autocalls_records_keep_within_the_rate_limit() {
    let stubs = Stubs::start().await;
    let arrivals = Arrivals::default();
    arrivals
        .serve(
            &stubs.autocalls,
            autocalls_success(),
            Duration::ZERO,
            Some(5),
        )
        .await;
    let records: Vec<Value> = (1..=30)
        .map(|i| {
            sqs_record(
                &format!("m-{i}"),
                &json!({"provider": "autocalls", "to": PHONE_US, "template": i}).to_string(),
            )
        })
        .collect();
    let function = stubs
        .function(&[("AUTOCALLS_MAX_RPS", "5"), ("MAX_CONCURRENCY", "30")])
        .await;
    let answer = function
        .invoke(json!({"Records": records}), Duration::from_secs(30))
        .await
        .unwrap();
    println!(
        "30 autocalls records: busiest one-second window held {} sends",
        arrivals.busiest_second()
    );
    assert_eq!(
        failures(&answer),
        Vec::<String>::new(),
        "no record failed, so no 429 either"
    );
    assert_eq!(arrivals.bodies().len(), 30);
    assert!(
        arrivals.busiest_second() <= 5,
        "a one-second window held {}",
        arrivals.busiest_second()
    );
}

#[tokio::test]
async fn twenty_bitbybit_records_are_sent_concurrently() {
    let stubs = Stubs::start().await;
    let arrivals = Arrivals::default();
    let delay = Duration::from_millis(300);
    arrivals
        .serve(&stubs.bitbybit, bitbybit_success(), delay, None)
        .await;
    let records: Vec<Value> = (1..=20)
        .map(|i| {
            sqs_record(
                &format!("b-{i}"),
                &json!({"provider": "bitbybit", "to": PHONE_US, "template": format!("t{i}")})
                    .to_string(),
            )
        })
        .collect();
    let function = stubs.function(&[]).await;
    let answer = function
        .invoke(json!({"Records": records}), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(failures(&answer), Vec::<String>::new());
    println!(
        "20 bitbybit records: at most {} in flight",
        arrivals.most_in_flight(delay)
    );
    assert!(arrivals.most_in_flight(delay) > 1);
}

#[tokio::test]
async fn an_eventbridge_event_is_a_function_error_only_when_its_send_fails() {
    let stubs = Stubs::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"template_name": "order_shipped"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbybit_success()))
        .mount(&stubs.bitbybit)
        .await;
    answer_every_post(
        &stubs.bitbybit,
        ResponseTemplate::new(403)
            .set_body_json(json!({"error": {"code": "INSUFFICIENT_SCOPE", "message": "no scope"}})),
    )
    .await;
    let function = stubs.function(&[]).await;
    let ok = function
        .invoke(fixture("eventbridge.json"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        (ok["status"].as_str(), ok["client_reference"].as_str()),
        (Some("accepted"), Some("order-8817"))
    );
    let mut failing = fixture("eventbridge.json");
    failing["detail"]["template"] = json!("not_allowed");
    let error = function
        .invoke(failing, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(error["errorType"], "PROVIDER_AUTH_FAILED");
    assert!(error["errorMessage"]
        .as_str()
        .unwrap()
        .contains("send failed"));
}

#[tokio::test]
async fn a_direct_invocation_answers_the_http_document_plus_http_status() {
    let stubs = Stubs::start().await;
    Arrivals::default()
        .serve(&stubs.autocalls, autocalls_success(), Duration::ZERO, None)
        .await;
    let function = stubs.function(&[]).await;
    let direct = fixture("direct.json");
    let mut bad = direct.clone();
    bad["to"] = json!("+1 415 555");
    for (event, status) in [(direct, 200), (bad, 400)] {
        let mut answer = function
            .invoke(event.clone(), Duration::from_secs(10))
            .await
            .expect("not a function error");
        let mut http = fixture("function-url.json");
        http["body"] = json!(event.to_string());
        http["headers"]
            .as_object_mut()
            .unwrap()
            .remove("x-request-id");
        let envelope = function
            .invoke(http, Duration::from_secs(10))
            .await
            .unwrap();
        let mut document = HttpAnswer::from_envelope(envelope).body;
        assert_eq!(answer["http_status"], status);
        answer.as_object_mut().unwrap().remove("http_status");
        for doc in [&mut answer, &mut document] {
            let id = if doc.get("error").is_some() {
                &mut doc["error"]["request_id"]
            } else {
                &mut doc["request_id"]
            };
            *id = json!("id");
        }
        assert_eq!(answer, document);
    }
}

#[tokio::test]
async fn an_unknown_event_shape_is_a_function_error_naming_the_problem() {
    let stubs = Stubs::start().await;
    let mut function = stubs.function(&[]).await;
    let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]});
    let error = function
        .invoke(s3, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(error["errorType"], "UnknownEventShape");
    assert!(error["errorMessage"].as_str().unwrap().contains("aws:s3"));
    let error = function
        .invoke(json!(["not", "an", "object"]), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(error["errorType"], "UnknownEventShape");
    assert!(error["errorMessage"].as_str().unwrap().contains("an array"));
    // Any other object is a direct invocation: a send request's 400, not a function error.
    for (event, field) in [
        (json!({}), "to"),
        (json!({"provdier": "autocalls"}), "provdier"),
    ] {
        let answer = function
            .invoke(event, Duration::from_secs(5))
            .await
            .expect("an answer, not a function error");
        assert_eq!(
            (
                answer["error"]["code"].as_str(),
                answer["error"]["field"].as_str(),
                answer["http_status"].as_u64()
            ),
            (Some("INVALID_REQUEST"), Some(field), Some(400))
        );
    }
    assert!(
        function.is_alive(),
        "an unknown event never kills the function"
    );
}

#[tokio::test]
async fn the_batch_route_answers_a_hundred_results_in_order() {
    let t = TestApp::start().await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    let messages: Vec<Value> = (0..100)
        .map(|i| {
            let to = if i == 42 { "+1 415 555" } else { PHONE_US };
            json!({"provider": "autocalls", "to": to, "template": 45, "client_reference": format!("entry-{i}")})
        })
        .collect();
    let answer = t
        .post("/v1/messages/batch", &json!({"messages": messages}))
        .await;
    assert_eq!(answer.status, 200);
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    for (i, result) in results.iter().enumerate() {
        if i == 42 {
            assert_eq!(
                (
                    result["http_status"].as_u64(),
                    result["error"]["code"].as_str()
                ),
                (Some(400), Some("INVALID_PHONE"))
            );
        } else {
            assert_eq!(
                (
                    result["http_status"].as_u64(),
                    result["client_reference"].as_str()
                ),
                (Some(200), Some(format!("entry-{i}").as_str()))
            );
        }
    }
    assert_eq!(
        t.stubs["autocalls"]
            .received_requests()
            .await
            .unwrap()
            .len(),
        99
    );
    for (body, status) in [
        (json!({"messages": []}), 400),
        (json!({"messages": vec![json!({}); 101]}), 400),
        (json!({"msgs": []}), 400),
    ] {
        assert_eq!(t.post("/v1/messages/batch", &body).await.status, status);
    }
    let big = format!("{{\"messages\": [\"{}\"]}}", "x".repeat(1024 * 1024));
    assert_eq!(
        t.http(http_v2("POST", "/v1/messages/batch", Some(big), &[]))
            .await
            .status,
        413
    );
}

#[tokio::test]
async fn a_fifo_group_stops_at_its_first_failure_while_other_groups_go_on() {
    let t = TestApp::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"template_id": 500})))
        .respond_with(ResponseTemplate::new(500))
        .mount(&t.stubs["autocalls"])
        .await;
    let arrivals = Arrivals::default();
    arrivals
        .serve(
            &t.stubs["autocalls"],
            autocalls_success(),
            Duration::ZERO,
            None,
        )
        .await;
    let record = |id: &str, group: &str, template: u64| {
        let mut r = sqs_record(
            id,
            &json!({"provider": "autocalls", "to": PHONE_US, "template": template}).to_string(),
        );
        r["eventSourceARN"] = json!("arn:aws:sqs:us-east-1:123456789012:wa-dispatch-send.fifo");
        r["attributes"]["MessageGroupId"] = json!(group);
        r
    };
    let event = json!({"Records": [
        record("a1", "A", 1), record("b1", "B", 11), record("a2", "A", 500),
        record("b2", "B", 12), record("a3", "A", 3), record("b3", "B", 13),
    ]});
    let answer = t.invoke(event).await.unwrap();
    assert_eq!(
        failures(&answer),
        ["a2", "a3"],
        "a2 failed; a3 was held back to keep the order"
    );
    let sent: Vec<u64> = arrivals
        .bodies()
        .iter()
        .map(|b| b["template_id"].as_u64().unwrap())
        .collect();
    let group_b: Vec<u64> = sent.iter().copied().filter(|t| *t > 10).collect();
    assert_eq!(group_b, [11, 12, 13], "group B in batch order");
    assert!(sent.contains(&1) && !sent.contains(&3));
}
