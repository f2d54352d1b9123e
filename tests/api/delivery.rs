//! The delivery rule (contract section 7) against providers that misbehave (section 10):
//! under an idempotency key, a send whose outcome is unknown is final and never sent twice;
//! a failure certain to have sent nothing frees the key; a provider's answer can neither
//! redirect the key elsewhere, crash a batch, leak what it echoes, nor change a number.

use crate::support::aws::create_idempotency_table;
use crate::support::hostile::ResettingProvider;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An App with an idempotency table, and `vars` on top.
async fn keyed_app(vars: Vec<(&'static str, String)>) -> TestApp {
    setup();
    let mut all = vec![("IDEMPOTENCY_TABLE", create_idempotency_table().await)];
    all.extend(vars);
    TestApp::with(Options {
        vars: all,
        ..Options::default()
    })
    .await
}

/// The key's first send is `DELIVERY_UNKNOWN`, final; its repeat replays that answer.
async fn unknown_then_replayed(t: &TestApp, key: &str) -> Value {
    let first = t.post("/v1/messages", &keyed(key)).await;
    assert_eq!(
        (first.status, first.code()),
        (502, "DELIVERY_UNKNOWN"),
        "{:?}",
        first.body
    );
    assert_eq!(first.body["error"]["retryable"], false);
    assert_eq!(first.body["error"]["provider"], "autocalls");
    assert!(!first.replayed());
    let again = t.post("/v1/messages", &keyed(key)).await;
    assert_eq!((again.status, &again.body), (502, &first.body));
    assert!(again.replayed(), "the repeat is the stored answer");
    first.body
}

#[tokio::test]
async fn under_a_key_a_provider_500_is_delivery_unknown_and_the_repeat_sends_nothing() {
    let t = keyed_app(vec![]).await;
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"})),
    )
    .await;
    let document = unknown_then_replayed(&t, "unknown-500").await;
    assert_eq!(document["error"]["provider_status"], 500);
    assert_eq!(
        received(&t.stubs["autocalls"]).await,
        1,
        "the provider saw one request"
    );
}

#[tokio::test]
async fn under_a_key_a_reset_after_the_request_is_delivery_unknown_and_sent_once() {
    let provider = ResettingProvider::start().await;
    let t = keyed_app(vec![("AUTOCALLS_BASE_URL", provider.url.clone())]).await;
    unknown_then_replayed(&t, "unknown-reset").await;
    assert_eq!(provider.requests(), 1, "the provider saw one request");
}

#[tokio::test]
async fn under_a_key_a_hang_past_the_timeout_is_delivery_unknown_and_sent_once() {
    let t = keyed_app(vec![("PROVIDER_TIMEOUT_MS", "300".into())]).await;
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(200)
            .set_body_json(autocalls_success())
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    unknown_then_replayed(&t, "unknown-hang").await;
    assert_eq!(
        received(&t.stubs["autocalls"]).await,
        1,
        "the provider saw one request"
    );
}

#[tokio::test]
async fn without_a_key_the_same_failures_stay_retryable() {
    let t = keyed_app(vec![]).await;
    answer_every_post(&t.stubs["autocalls"], ResponseTemplate::new(500)).await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (502, "PROVIDER_UNAVAILABLE")
    );
    assert_eq!(answer.body["error"]["retryable"], true);
}

#[tokio::test]
async fn an_sqs_record_with_an_unknown_outcome_is_failed_on_every_redelivery_and_sent_once() {
    let t = keyed_app(vec![]).await;
    answer_every_post(&t.stubs["autocalls"], ResponseTemplate::new(502)).await;
    let mut event = fixture("sqs-batch.json");
    let mut record = event["Records"][0].clone();
    record["messageId"] = json!("sqs-unknown-1");
    record["body"] = json!(autocalls_request().to_string());
    event["Records"] = json!([record]);
    for delivery in 1..=3 {
        let answer = t.invoke(event.clone()).await.expect("a batch answer");
        assert_eq!(
            answer["batchItemFailures"],
            json!([{"itemIdentifier": "sqs-unknown-1"}]),
            "delivery {delivery}"
        );
    }
    assert_eq!(
        received(&t.stubs["autocalls"]).await,
        1,
        "redeliveries send nothing"
    );
    let outcomes: Vec<Value> = logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message_id"] == "sqs-unknown-1")
        .map(|l| l["outcome"].clone())
        .collect();
    assert_eq!(outcomes, vec![json!("DELIVERY_UNKNOWN"); 3]);
}

#[tokio::test]
async fn an_eventbridge_event_with_an_unknown_outcome_fails_on_every_retry_and_is_sent_once() {
    let t = keyed_app(vec![]).await;
    answer_every_post(&t.stubs["bitbybit"], ResponseTemplate::new(503)).await;
    let event = fixture("eventbridge.json");
    for attempt in 1..=3 {
        let error = t.invoke(event.clone()).await.unwrap_err();
        assert!(
            error.contains("DELIVERY_UNKNOWN"),
            "attempt {attempt}: {error}"
        );
    }
    assert_eq!(
        received(&t.stubs["bitbybit"]).await,
        1,
        "retries send nothing"
    );
}

#[tokio::test]
async fn a_refused_connection_under_a_key_frees_it_and_the_later_send_goes_through() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = keyed_app(vec![(
        "AUTOCALLS_BASE_URL",
        format!("http://127.0.0.1:{port}"),
    )])
    .await;
    let refused = t.post("/v1/messages", &keyed("refused-1")).await;
    assert_eq!(
        (refused.status, refused.code()),
        (502, "PROVIDER_UNAVAILABLE"),
        "{:?}",
        refused.body
    );
    assert_eq!(refused.body["error"]["retryable"], true);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let provider = MockServer::builder().listener(listener).start().await;
    accepts(&provider, "autocalls").await;
    let later = t.post("/v1/messages", &keyed("refused-1")).await;
    assert_eq!(later.status, 200, "{:?}", later.body);
    assert!(!later.replayed());
    assert_eq!(received(&provider).await, 1);
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_frees_the_key() {
    let t = keyed_app(vec![]).await;
    let elsewhere = MockServer::start().await;
    accepts(&elsewhere, "autocalls").await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .up_to_n_times(2)
        .mount(&t.stubs["autocalls"])
        .await;
    for body in [autocalls_request(), keyed("redirected-1")] {
        let answer = t.post("/v1/messages", &body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (502, "PROVIDER_UNAVAILABLE"),
            "{:?}",
            answer.body
        );
        assert_eq!(answer.body["error"]["retryable"], true);
        assert!(!answer.body.to_string().contains(&elsewhere.uri()));
    }
    assert_eq!(
        received(&elsewhere).await,
        0,
        "the other host received nothing"
    );
    accepts(&t.stubs["autocalls"], "autocalls").await;
    let retried = t.post("/v1/messages", &keyed("redirected-1")).await;
    assert_eq!(retried.status, 200, "a 3xx sent nothing: the key was free");
}

#[tokio::test]
async fn absurd_retry_after_headers_panic_nothing_and_every_batch_entry_is_answered() {
    let t = TestApp::start().await;
    let limited = json!({"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down"}});
    let soon = std::time::SystemTime::now() + Duration::from_secs(1);
    let date = aws_sdk_secretsmanager::primitives::DateTime::from(soon)
        .fmt(aws_sdk_secretsmanager::primitives::DateTimeFormat::HttpDate)
        .unwrap();
    for (template, retry_after) in [
        ("ra_huge", "10000000000000000000"),
        ("ra_beyond_u64", "99999999999999999999999999"),
        ("ra_negative", "-5"),
        ("ra_garbage", "soon, maybe"),
        ("ra_date", date.as_str()),
    ] {
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"template_name": template})))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", retry_after)
                    .set_body_json(limited.clone()),
            )
            .up_to_n_times(if template == "ra_date" { 1 } else { 10 })
            .mount(&t.stubs["bitbybit"])
            .await;
    }
    accepts(&t.stubs["bitbybit"], "bitbybit").await;
    let entry = |template: &str| {
        let mut body = bitbybit_request();
        body["template"] = json!(template);
        body
    };
    let templates = [
        "ok_1",
        "ra_huge",
        "ra_beyond_u64",
        "ra_negative",
        "ra_garbage",
        "ra_date",
        "ok_2",
    ];
    let messages: Vec<Value> = templates.iter().map(|t| entry(t)).collect();
    let answer = t
        .post("/v1/messages/batch", &json!({ "messages": messages }))
        .await;
    assert_eq!(answer.status, 200);
    let statuses: Vec<u64> = answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["http_status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [200, 429, 429, 429, 429, 200, 200],
        "{:?}",
        answer.body
    );
    // One absurd wait is refused at once; the others are retried, then reported.
    let single = t.post("/v1/messages", &entry("ra_huge")).await;
    assert_eq!(single.code(), "RATE_LIMITED");
    let reported: u64 = single.headers["retry-after"].parse().unwrap();
    assert!(
        reported <= 3600,
        "a Retry-After of 10^19 s is passed on capped: {reported}"
    );
}

#[tokio::test]
async fn number_variables_reach_the_provider_exactly_as_written() {
    let t = TestApp::start().await;
    accepts(&t.stubs["bitbybit"], "bitbybit").await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    // Raw text: a `json!` literal would already have rewritten the numbers.
    let numbers = "[1.50, 1e2, 123456789012345678901, -0.0]";
    let bitbybit = format!(
        r#"{{"provider":"bitbybit","to":"+62 812 3456 7890","template":"receipt","variables":{numbers}}}"#
    );
    let autocalls = format!(
        r#"{{"provider":"autocalls","to":"+1 415 555 1234","template":45,"variables":{numbers}}}"#
    );
    for body in [&bitbybit, &autocalls] {
        let answer = t
            .http(http_v2("POST", "/v1/messages", Some(body.clone()), &[]))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    // The same request as an SQS record's body, a direct invocation and EventBridge's detail.
    let mut sqs = fixture("sqs-batch.json");
    sqs["Records"] =
        json!([{"messageId": "numbers-1", "eventSource": "aws:sqs", "body": bitbybit}]);
    let direct = bitbybit.clone();
    let eventbridge = format!(
        r#"{{"id":"numbers-2","detail-type":"send","source":"wa-dispatch.send","detail":{bitbybit}}}"#
    );
    for event in [sqs.to_string(), direct, eventbridge] {
        let answer = t.invoke_text(&event, Duration::from_secs(10)).await;
        assert!(answer.is_ok(), "{answer:?}");
    }
    let sent = |requests: Vec<wiremock::Request>| -> Vec<Value> {
        requests
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    };
    let written = ["1.50", "1e2", "123456789012345678901", "-0.0"];
    let bitbybit_sent = sent(t.stubs["bitbybit"].received_requests().await.unwrap());
    assert_eq!(bitbybit_sent.len(), 4);
    for body in bitbybit_sent {
        assert_eq!(body["params"], json!(written));
    }
    assert_eq!(
        sent(t.stubs["autocalls"].received_requests().await.unwrap())[0]["variables"],
        json!({"1": written[0], "2": written[1], "3": written[2], "4": written[3]})
    );
}

#[tokio::test]
async fn a_provider_echoing_a_variable_a_spaced_phone_and_the_key_leaks_none_of_them() {
    let t = TestApp::start().await;
    let echo = format!(
        "Variable {} does not fit the template for +1 415 555 1234 (key {AUTOCALLS_KEY}, name JOHN DOE)",
        SECRET_VARIABLE.to_uppercase()
    );
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(422).set_body_json(json!({
            "success": false, "error": echo, "error_code": "TEMPLATE_MISMATCH"
        })),
    )
    .await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(answer.code(), "TEMPLATE_MISMATCH");
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Variable *** does not fit"),
        "{message}"
    );
    let text = format!("{}\n{}", answer.body, logs());
    for leaked in [
        "415 555 1234",
        SECRET_VARIABLE,
        &SECRET_VARIABLE.to_uppercase(),
        AUTOCALLS_KEY,
        "JOHN DOE",
    ] {
        assert!(
            !text.contains(leaked),
            "{leaked:?} reached the answer or a log"
        );
    }
}

#[tokio::test]
async fn the_same_key_with_another_country_is_a_conflict() {
    let t = keyed_app(vec![]).await;
    accepts(&t.stubs["bitbybit"], "bitbybit").await;
    let request = |country: &str| {
        json!({"provider": "bitbybit", "to": "+62 812-3456-7890", "country": country,
               "template": "welcome_message", "idempotency_key": "country-1"})
    };
    assert_eq!(t.post("/v1/messages", &request("ID")).await.status, 200);
    // The same E.164 number, but bitbybit would get another `countryCode`.
    let other = t.post("/v1/messages", &request("MY")).await;
    assert_eq!((other.status, other.code()), (409, "IDEMPOTENCY_CONFLICT"));
    assert!(t.post("/v1/messages", &request("ID")).await.replayed());
    assert_eq!(received(&t.stubs["bitbybit"]).await, 1);
}
