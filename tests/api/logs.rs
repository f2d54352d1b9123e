//! Logs and metrics: one line per request with the contract's fields, phones masked, and
//! nothing secret in any line the process wrote.

use crate::support::*;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn each_request_logs_one_line_with_the_contract_fields_and_a_masked_phone() {
    let t = TestApp::start().await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    let mut request = autocalls_request();
    request["client_reference"] = json!("log-check-7731");
    let answer = t
        .http(http_v2(
            "POST",
            "/v1/messages",
            Some(request.to_string()),
            &[("x-request-id", "log-req-7731")],
        ))
        .await;
    assert_eq!(answer.status, 200);
    let lines: Vec<Value> = logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["request_id"] == "log-req-7731")
        .collect();
    assert_eq!(lines.len(), 1, "one line per request: {lines:?}");
    let line = &lines[0];
    assert_eq!(line["source"], "http");
    assert_eq!(line["provider"], "autocalls");
    assert_eq!(line["outcome"], "queued");
    assert_eq!(line["provider_status"], 200);
    assert_eq!(line["client_reference"], "log-check-7731");
    assert_eq!(line["to"], "+1******1234");
    assert!(line["latency_ms"].is_u64() && line["provider_latency_ms"].is_u64());

    let metrics = t.metrics.lock().unwrap().clone();
    let sent: Value = serde_json::from_str(&metrics[0]).unwrap();
    assert_eq!(
        sent["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "WaDispatch"
    );
    assert_eq!(
        (sent["Sent"].clone(), sent["provider"].clone()),
        (json!(1), json!("autocalls"))
    );
}

#[tokio::test]
async fn failures_are_counted_by_provider_and_code() {
    let t = TestApp::start().await;
    answer_every_post(&t.stubs["autocalls"], ResponseTemplate::new(402).set_body_json(json!({"success": false, "error": "Insufficient balance.", "error_code": "INSUFFICIENT_BALANCE"}))).await;
    assert_eq!(
        t.post("/v1/messages", &autocalls_request()).await.status,
        402
    );
    let line: Value = serde_json::from_str(&t.metrics.lock().unwrap()[0]).unwrap();
    assert_eq!(
        (line["Failed"].clone(), line["code"].clone()),
        (json!(1), json!("INSUFFICIENT_BALANCE"))
    );
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["provider"], ["provider", "code"]])
    );
}

/// The harness checks every captured line when each test's app is dropped; this test
/// makes the check explicit over a run that touches every path that handles a secret.
#[tokio::test]
async fn no_line_written_during_the_run_holds_a_key_a_variable_value_or_a_full_phone() {
    let t = TestApp::start().await;
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(401)
            .set_body_json(json!({"message": format!("bad key {AUTOCALLS_KEY} for +14155551234")})),
    )
    .await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(answer.code(), "PROVIDER_AUTH_FAILED");
    let mut dry = bitbybit_request();
    dry["dry_run"] = json!(true);
    assert_eq!(t.post("/v1/messages", &dry).await.status, 200);
    assert!(!logs().is_empty());
    assert_nothing_forbidden(&logs());
    assert_nothing_forbidden(&answer.body.to_string());
}

#[tokio::test]
async fn dry_runs_write_no_metric() {
    let t = TestApp::start().await;
    let mut dry = autocalls_request();
    dry["dry_run"] = json!(true);
    assert_eq!(t.post("/v1/messages", &dry).await.status, 200);
    assert!(
        t.metrics.lock().unwrap().is_empty(),
        "a dry run is neither Sent nor Failed"
    );
}

/// `RUST_LOG=trace` asks every crate for everything: the runtime would print events (with
/// their `Authorization` JWT), the AWS SDK the `SecretString` and DynamoDB items, the HTTP
/// stack the provider request. The function caps other crates at `info`, so none of it is
/// printed, whatever the level.
#[tokio::test]
async fn at_trace_no_phone_variable_key_or_jwt_is_printed() {
    use crate::support::aws::{create_idempotency_table, AwsProxy};
    use crate::support::function::Launch;
    use std::time::Duration;
    setup();
    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3YS1kaXNwYXRjaC10ZXN0In0.c2lnbmF0dXJl";
    let table = create_idempotency_table().await;
    let aws = AwsProxy::start().await;
    let autocalls = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(
            json!({"template_id": 45}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(autocalls_success()))
        .mount(&autocalls)
        .await;
    answer_every_post(&autocalls, ResponseTemplate::new(422).set_body_json(json!({"success": false,
            "error": format!("{SECRET_VARIABLE} for +1 415 555 1234"), "error_code": "TEMPLATE_MISMATCH"}))).await;
    let function = Launch::with_secret_in(&aws)
        .await
        .0
        .var("RUST_LOG", "trace")
        .var("IDEMPOTENCY_TABLE", table)
        .var("AUTOCALLS_BASE_URL", autocalls.uri())
        .start()
        .await;
    let mut keyed = autocalls_request();
    keyed["idempotency_key"] = json!("trace-1");
    let http = http_v2(
        "POST",
        "/v1/messages",
        Some(keyed.to_string()),
        &[("authorization", &format!("Bearer {JWT}"))],
    );
    let mut refused = autocalls_request();
    refused["template"] = json!(46);
    let mut sqs = fixture("sqs-batch.json");
    sqs["Records"][0]["body"] = json!(refused.to_string());
    for event in [http.clone(), http, sqs, autocalls_request()] {
        function
            .invoke(event, Duration::from_secs(10))
            .await
            .expect("an answer");
    }
    let output = function.output();
    assert!(output.contains("request finished"), "{output}");
    assert_nothing_forbidden(&output);
    for leaked in [JWT, "415 555 1234", "+14155551234"] {
        assert!(!output.contains(leaked), "{leaked:?} printed at trace");
    }
}

/// The lines of one function process, as JSON.
fn json_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

#[tokio::test]
async fn health_every_http_request_sqs_record_and_eventbridge_event_has_one_request_line() {
    use crate::support::function::Launch;
    use std::time::Duration;
    setup();
    let (bitbybit, autocalls) = (
        wiremock::MockServer::start().await,
        wiremock::MockServer::start().await,
    );
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(
            json!({"template_id": 500}),
        ))
        .respond_with(ResponseTemplate::new(500))
        .mount(&autocalls)
        .await;
    accepts(&autocalls, "autocalls").await;
    accepts(&bitbybit, "bitbybit").await;
    let function = Launch::new()
        .var("BITBYBIT_BASE_URL", bitbybit.uri())
        .var("AUTOCALLS_BASE_URL", autocalls.uri())
        .start()
        .await;
    let timeout = Duration::from_secs(10);
    let invoke = |id: &str, event: Value| function.invoke_as(id.to_string(), event, timeout);
    invoke("health-1", http_v2("GET", "/v1/health", None, &[]))
        .await
        .unwrap();
    let mut send = autocalls_request();
    send["client_reference"] = json!("ref-http");
    invoke(
        "http-1",
        http_v2("POST", "/v1/messages", Some(send.to_string()), &[]),
    )
    .await
    .unwrap();
    let record = |id: &str, template: u64| {
        let mut body = autocalls_request();
        body["template"] = json!(template);
        body["client_reference"] = json!(format!("ref-{id}"));
        json!({"messageId": id, "eventSource": "aws:sqs", "body": body.to_string(),
               "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sends.fifo",
               "attributes": {"MessageGroupId": "g"}})
    };
    let fifo = json!({"Records": [record("a1", 45), record("a2", 500), record("a3", 45)]});
    invoke("sqs-1", fifo).await.unwrap();
    invoke("eventbridge-1", fixture("eventbridge.json"))
        .await
        .unwrap();
    let lines = json_lines(&function.output());
    let request_lines = |lambda_id: &str| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l["span"]["requestId"] == lambda_id && l["message"] == "request finished")
            .cloned()
            .collect()
    };
    let health = request_lines("health-1");
    assert_eq!(health.len(), 1, "{health:?}");
    assert_eq!(
        (health[0]["source"].as_str(), health[0]["outcome"].as_str()),
        (Some("http"), Some("ok"))
    );
    let http = request_lines("http-1");
    assert_eq!(http.len(), 1);
    assert_eq!(http[0]["client_reference"], "ref-http");
    let sqs = request_lines("sqs-1");
    let by_record: Vec<(&str, &str, &str)> = ["a1", "a2", "a3"]
        .iter()
        .map(|id| {
            let line: Vec<&Value> = sqs.iter().filter(|l| l["message_id"] == *id).collect();
            assert_eq!(line.len(), 1, "one line for record {id}");
            (
                *id,
                line[0]["outcome"].as_str().unwrap(),
                line[0]["client_reference"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_record,
        [
            ("a1", "queued", "ref-a1"),
            ("a2", "PROVIDER_UNAVAILABLE", "ref-a2"),
            ("a3", "held_back", "ref-a3")
        ]
    );
    let eventbridge = request_lines("eventbridge-1");
    assert_eq!(eventbridge.len(), 1);
    assert_eq!(eventbridge[0]["client_reference"], "order-8817");
}

#[tokio::test]
async fn every_line_of_a_request_carries_the_callers_request_id_warnings_included() {
    use crate::support::function::Launch;
    use std::time::Duration;
    setup();
    let bitbybit = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&bitbybit)
        .await;
    accepts(&bitbybit, "bitbybit").await;
    let function = Launch::new()
        .var("BITBYBIT_BASE_URL", bitbybit.uri())
        .start()
        .await;
    let event = http_v2(
        "POST",
        "/v1/messages",
        Some(bitbybit_request().to_string()),
        &[("x-request-id", "r-1")],
    );
    let answer = function
        .invoke_as("lambda-id-1".into(), event, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200);
    let lines: Vec<Value> = json_lines(&function.output())
        .into_iter()
        .filter(|l| l["span"]["requestId"] == "lambda-id-1")
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "WARN" && l["message"] == "provider throttled the send; waiting"),
        "{lines:?}"
    );
    assert!(lines.len() >= 2);
    for line in &lines {
        assert_eq!(line["span"]["request_id"], "r-1", "{line}");
    }
    // ProviderLatency is the provider's own time: the 1 s wait for its 429 is ours.
    let request = lines
        .iter()
        .find(|l| l["message"] == "request finished")
        .unwrap();
    let (total, provider) = (
        request["latency_ms"].as_u64().unwrap(),
        request["provider_latency_ms"].as_u64().unwrap(),
    );
    assert!(
        total >= 1000 && provider + 900 <= total,
        "{total} {provider}"
    );
}

#[tokio::test]
async fn lambdas_log_level_and_format_are_honoured() {
    use crate::support::function::Launch;
    use std::time::Duration;
    setup();
    let autocalls = wiremock::MockServer::start().await;
    accepts(&autocalls, "autocalls").await;
    // Lambda's logging configuration in text: the request line is written, not as JSON.
    let text = Launch::new()
        .var("AUTOCALLS_BASE_URL", autocalls.uri())
        .var("AWS_LAMBDA_LOG_FORMAT", "Text")
        .start()
        .await;
    text.invoke(fixture("direct.json"), Duration::from_secs(10))
        .await
        .unwrap();
    let output = text.output();
    assert!(output.contains("request finished"), "{output}");
    assert!(
        json_lines(&output)
            .iter()
            .all(|l| l.get("message").is_none()),
        "{output}"
    );
    // At ERROR, over RUST_LOG's info, no request line (an info line) is written.
    let quiet = Launch::new()
        .var("AUTOCALLS_BASE_URL", autocalls.uri())
        .var("RUST_LOG", "info")
        .var("AWS_LAMBDA_LOG_LEVEL", "ERROR")
        .start()
        .await;
    quiet
        .invoke(fixture("direct.json"), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        !quiet.output().contains("request finished"),
        "{}",
        quiet.output()
    );
}
