//! Each HTTP event shape reaches the provider exactly as its documentation says and gets
//! the contract's success document in the envelope it understands.

use crate::support::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

async fn expect_autocalls(t: &TestApp, body: Value) {
    Mock::given(method("POST"))
        .and(path("/api/user/whatsapp/send"))
        .and(header(
            "authorization",
            format!("Bearer {AUTOCALLS_KEY}").as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(autocalls_success()))
        .expect(1)
        .mount(&t.stubs["autocalls"])
        .await;
}

async fn expect_bitbybit(t: &TestApp, body: Value) {
    Mock::given(method("POST"))
        .and(path("/whatsapp/open/v1/messages/send-template"))
        .and(header("x-api-key", BITBYBIT_KEY))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbybit_success()))
        .expect(1)
        .mount(&t.stubs["bitbybit"])
        .await;
}

#[tokio::test]
async fn a_rest_v1_event_sends_through_autocalls_and_answers_in_the_v1_envelope() {
    let t = TestApp::start().await;
    expect_autocalls(
        &t,
        json!({"sender_id": 12, "template_id": 45, "recipient_phone": "+14155550100",
        "variables": {"1": "Ana", "2": "January 15, 2026"}}),
    )
    .await;
    let envelope = t.invoke(fixture("rest-api-v1.json")).await.unwrap();
    assert_eq!(envelope["statusCode"], 200);
    assert!(
        envelope["multiValueHeaders"].is_object(),
        "the v1 envelope: {envelope}"
    );
    let answer = HttpAnswer::from_envelope(envelope);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.headers["x-request-id"], "caller-req-rest-1");
    assert_eq!(
        answer.body,
        json!({"provider": "autocalls", "status": "queued", "message_id": "SMxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
               "to": "+14155550100", "client_reference": "order-8812", "request_id": "caller-req-rest-1",
               "provider_details": {"conversation_id": 1234, "message_id": 567, "whatsapp_message_id": 890}})
    );
}

#[tokio::test]
async fn an_http_api_v2_event_with_a_stage_and_a_base64_body_sends_through_bitbybit() {
    let t = TestApp::start().await;
    expect_bitbybit(
        &t,
        json!({"to": "6281234560100", "template_name": "welcome_message", "template_source": "CRM",
        "params": ["Ana"], "countryCode": "ID"}),
    )
    .await;
    let answer = t.http(fixture("http-api-v2.json")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.headers["x-request-id"], "lambda-req-1",
        "no caller id: the Lambda request id"
    );
    assert_eq!(
        answer.body,
        json!({"provider": "bitbybit", "status": "accepted", "message_id": "wamid.HBgNNjI4", "to": "+6281234560100",
               "client_reference": "order-8813", "request_id": "lambda-req-1",
               "provider_details": {"timestamp": "2026-01-15T14:00:00Z"}})
    );
}

#[tokio::test]
async fn a_function_url_event_sends_through_autocalls_with_the_secret_sender() {
    let t = TestApp::start().await;
    expect_autocalls(&t, json!({"sender_id": 12, "template_id": 45, "recipient_phone": "+14155550100", "variables": {"1": "Ana"}})).await;
    let answer = t.http(fixture("function-url.json")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body["message_id"],
        "SMxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    );
    assert_eq!(answer.headers["x-request-id"], "caller-req-url-1");
}

#[tokio::test]
async fn an_alb_event_sends_through_bitbybit_and_answers_in_the_alb_envelope() {
    let t = TestApp::start().await;
    expect_bitbybit(&t, json!({"to": "6281234560100", "template_name": "welcome_message", "template_source": "CRM", "params": ["Ana", "Order123"]})).await;
    let envelope = t.invoke(fixture("alb.json")).await.unwrap();
    assert_eq!(envelope["statusDescription"], "200 OK");
    assert_eq!(
        HttpAnswer::from_envelope(envelope).body["status"],
        "accepted"
    );

    let mut multi = fixture("alb.json");
    multi["multiValueHeaders"] = json!({"content-type": ["application/json"]});
    multi.as_object_mut().unwrap().remove("headers");
    multi["path"] = json!("/v1/health");
    multi["httpMethod"] = json!("GET");
    let envelope = t.invoke(multi).await.unwrap();
    assert!(
        envelope["multiValueHeaders"]["x-request-id"].is_array(),
        "{envelope}"
    );
}

#[tokio::test]
async fn the_health_route_reads_no_secret_and_calls_no_provider() {
    let t = TestApp::start().await;
    for path in ["/v1/health", "/prod/v1/health"] {
        let answer = t.http(http_v2("GET", path, None, &[])).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.body,
            json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
        );
    }
    assert_eq!(t.aws.get_secret_value_calls(), 0);
    assert!(t.stubs["bitbybit"]
        .received_requests()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn routing_answers_404_and_405_with_allow() {
    let t = TestApp::start().await;
    let missing = t
        .http(http_v2("POST", "/v1/nothing", Some("{}".into()), &[]))
        .await;
    assert_eq!((missing.status, missing.code()), (404, "NOT_FOUND"));
    let wrong = t.http(http_v2("GET", "/v1/messages", None, &[])).await;
    assert_eq!(
        (wrong.status, wrong.code(), wrong.headers["allow"].as_str()),
        (405, "METHOD_NOT_ALLOWED", "POST")
    );
    let wrong = t.http(http_v2("DELETE", "/v1/health", None, &[])).await;
    assert_eq!(
        (wrong.status, wrong.headers["allow"].as_str()),
        (405, "GET")
    );
    assert_eq!(wrong.body["error"]["retryable"], false);
}

#[tokio::test]
async fn media_types_and_sizes_are_checked_before_parsing() {
    let t = TestApp::start().await;
    let body = autocalls_request().to_string();
    let text = t
        .http(http_v2(
            "POST",
            "/v1/messages",
            Some(body.clone()),
            &[("content-type", "text/plain")],
        ))
        .await;
    assert_eq!((text.status, text.code()), (415, "UNSUPPORTED_MEDIA_TYPE"));
    // Not JSON at all, and too large: 413 says so without trying to parse it.
    let huge = format!("not json {}", "x".repeat(64 * 1024));
    let large = t
        .http(http_v2("POST", "/v1/messages", Some(huge.clone()), &[]))
        .await;
    assert_eq!((large.status, large.code()), (413, "PAYLOAD_TOO_LARGE"));
    let mut encoded = http_v2("POST", "/v1/messages", None, &[]);
    use base64::Engine;
    encoded["body"] = json!(base64::engine::general_purpose::STANDARD.encode(huge));
    encoded["isBase64Encoded"] = json!(true);
    assert_eq!(t.http(encoded).await.status, 413);
    let vendor = t
        .http(http_v2(
            "POST",
            "/v1/messages",
            Some("{".into()),
            &[("content-type", "application/vnd.api+json")],
        ))
        .await;
    assert_eq!(
        (vendor.status, vendor.code()),
        (400, "INVALID_REQUEST"),
        "a +json type is JSON"
    );
    assert_eq!(t.aws.get_secret_value_calls(), 0);
}

#[tokio::test]
async fn a_hostile_request_id_is_replaced_by_the_lambda_one() {
    let t = TestApp::start().await;
    let long = "r".repeat(129);
    for bad in ["tab\there", "caf\u{e9}-id", long.as_str()] {
        let mut event = http_v2("GET", "/v1/health", None, &[]);
        event["headers"]["x-request-id"] = json!(bad);
        assert_eq!(t.http(event).await.headers["x-request-id"], "lambda-req-1");
    }
}
