//! Every code of the contract's error table that a single send can produce, over HTTP:
//! status, code, retryable and field, and no provider call for a validation error.

use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn with(mut body: Value, extra: Value) -> Value {
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

async fn nothing_sent(t: &TestApp) {
    for (name, stub) in &t.stubs.0 {
        assert!(
            stub.received_requests().await.unwrap().is_empty(),
            "{name} was called"
        );
    }
}

#[tokio::test]
async fn validation_errors_name_their_field_before_any_secret_is_read() {
    let t = TestApp::start().await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            with(autocalls_request(), json!({"variabels": ["x"]})),
            400,
            "INVALID_REQUEST",
            Some("variabels"),
        ),
        (
            with(autocalls_request(), json!({"to": "+1 415 555"})),
            400,
            "INVALID_PHONE",
            Some("to"),
        ),
        (
            with(autocalls_request(), json!({"provider": "twilio"})),
            400,
            "UNKNOWN_PROVIDER",
            Some("provider"),
        ),
        (
            with(
                autocalls_request(),
                json!({"media_url": "https://cdn.example/a.png"}),
            ),
            400,
            "INVALID_REQUEST",
            Some("media_url"),
        ),
        (
            with(autocalls_request(), json!({"bitbybit": {}})),
            400,
            "INVALID_REQUEST",
            Some("bitbybit"),
        ),
        (
            with(autocalls_request(), json!({"variables": [{"nested": 1}]})),
            400,
            "INVALID_REQUEST",
            Some("variables[0]"),
        ),
        (
            with(
                bitbybit_request(),
                json!({"variables": {"1": "a", "x": "b"}}),
            ),
            400,
            "INVALID_REQUEST",
            Some("variables.x"),
        ),
        (
            with(bitbybit_request(), json!({"template": 12})),
            400,
            "INVALID_REQUEST",
            Some("template"),
        ),
        (
            with(bitbybit_request(), json!({"country": "ZZ"})),
            400,
            "INVALID_REQUEST",
            Some("country"),
        ),
        (
            json!({"to": PHONE_US, "template": 45}),
            400,
            "UNKNOWN_PROVIDER",
            Some("provider"),
        ),
        (json!([1, 2]), 400, "INVALID_REQUEST", None),
    ];
    for (body, status, code, field) in cases {
        let answer = t.post("/v1/messages", &body).await;
        assert_eq!(
            (answer.status, answer.code(), answer.field()),
            (status, code, field),
            "{body}"
        );
        assert_eq!(answer.body["error"]["retryable"], false);
        assert_eq!(answer.body["error"]["request_id"], "lambda-req-1");
    }
    let malformed = t
        .http(http_v2(
            "POST",
            "/v1/messages",
            Some("{\"to\": ".into()),
            &[],
        ))
        .await;
    assert_eq!(
        (malformed.status, malformed.code()),
        (400, "INVALID_REQUEST")
    );
    assert_eq!(t.aws.get_secret_value_calls(), 0, "no secret was read");
    nothing_sent(&t).await;
}

/// (provider status, provider body, our status, our code, retryable)
type Case = (u16, Value, u16, &'static str, bool);

async fn check_provider_errors(
    t: &TestApp,
    server: &wiremock::MockServer,
    route: &str,
    request: Value,
    cases: Vec<Case>,
) {
    for (their_status, their_body, status, code, retryable) in cases {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(their_status).set_body_json(their_body.clone()))
            .mount(server)
            .await;
        let answer = t.post("/v1/messages", &request).await;
        assert_eq!(
            (
                answer.status,
                answer.code(),
                answer.body["error"]["retryable"].as_bool()
            ),
            (status, code, Some(retryable)),
            "{their_body}"
        );
        assert_eq!(
            answer.body["error"]["provider_status"], their_status,
            "{their_body}"
        );
    }
}

#[tokio::test]
async fn every_documented_autocalls_error_maps_to_the_contract() {
    let t = TestApp::start().await;
    let err =
        |code: &str| json!({"success": false, "error": "As the provider says", "error_code": code});
    let mut cases: Vec<Case> = vec![
        (
            402,
            err("INSUFFICIENT_BALANCE"),
            402,
            "INSUFFICIENT_BALANCE",
            false,
        ),
        (404, err("SENDER_NOT_FOUND"), 422, "SENDER_NOT_FOUND", false),
        (
            404,
            err("TEMPLATE_NOT_FOUND"),
            422,
            "TEMPLATE_NOT_FOUND",
            false,
        ),
        (422, err("SENDER_OFFLINE"), 422, "SENDER_OFFLINE", true),
        (
            422,
            err("TEMPLATE_NOT_APPROVED"),
            422,
            "TEMPLATE_NOT_APPROVED",
            false,
        ),
        (
            422,
            err("TEMPLATE_MISMATCH"),
            422,
            "TEMPLATE_MISMATCH",
            false,
        ),
        (422, err("INVALID_PHONE"), 400, "INVALID_PHONE", false),
        (
            500,
            json!({"message": "Server Error"}),
            502,
            "PROVIDER_UNAVAILABLE",
            true,
        ),
    ];
    for other in [
        "TEMPLATE_NOT_SYNCED",
        "NO_ASSISTANT_CONFIGURED",
        "MESSAGING_LIMIT_UNAVAILABLE",
        "VOICE_CALL_LIMIT_NOT_MET",
        "TWILIO_ERROR_63016",
        "UNKNOWN_ERROR",
    ] {
        cases.push((422, err(other), 422, "PROVIDER_REJECTED", false));
    }
    check_provider_errors(
        &t,
        &t.stubs["autocalls"],
        "/api/user/whatsapp/send",
        autocalls_request(),
        cases,
    )
    .await;
}

#[tokio::test]
async fn every_documented_bitbybit_error_maps_to_the_contract() {
    let t = TestApp::start().await;
    let err = |code: &str| json!({"error": {"code": code, "message": "As the provider says"}});
    let cases: Vec<Case> = vec![
        (
            400,
            err("VALIDATION_ERROR"),
            422,
            "PROVIDER_REJECTED",
            false,
        ),
        (
            401,
            err("INVALID_API_KEY"),
            502,
            "PROVIDER_AUTH_FAILED",
            false,
        ),
        (
            403,
            err("INSUFFICIENT_SCOPE"),
            502,
            "PROVIDER_AUTH_FAILED",
            false,
        ),
        (503, err("UNAVAILABLE"), 502, "PROVIDER_UNAVAILABLE", true),
    ];
    check_provider_errors(
        &t,
        &t.stubs["bitbybit"],
        "/whatsapp/open/v1/messages/send-template",
        bitbybit_request(),
        cases,
    )
    .await;
}

#[tokio::test]
async fn undocumented_answers_are_provider_unavailable_never_success() {
    let t = TestApp::start().await;
    for (status, body, content_type) in [
        (
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "text/html",
        ),
        (200, r#"{"data":{}}"#, "application/json"),
        (200, "", "application/json"),
        (200, r#"{"data":{"messageId2":"#, "application/json"),
    ] {
        t.stubs["bitbybit"].reset().await;
        answer_every_post(
            &t.stubs["bitbybit"],
            ResponseTemplate::new(status).set_body_raw(body, content_type),
        )
        .await;
        let answer = t.post("/v1/messages", &bitbybit_request()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (502, "PROVIDER_UNAVAILABLE"),
            "{status} {body}"
        );
        assert_eq!(answer.body["error"]["retryable"], true);
    }
}

#[tokio::test]
async fn a_provider_429_is_waited_out_then_reported_as_rate_limited_with_retry_after() {
    let t = TestApp::start().await;
    let limited =
        json!({"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests."}});
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(limited.clone()),
        )
        .up_to_n_times(1)
        .mount(&t.stubs["bitbybit"])
        .await;
    accepts(&t.stubs["bitbybit"], "bitbybit").await;
    let answer = t.post("/v1/messages", &bitbybit_request()).await;
    assert_eq!(
        answer.status, 200,
        "the 429 was waited out: {:?}",
        answer.body
    );
    assert_eq!(
        t.stubs["bitbybit"].received_requests().await.unwrap().len(),
        2
    );

    t.stubs["bitbybit"].reset().await;
    answer_every_post(
        &t.stubs["bitbybit"],
        ResponseTemplate::new(429)
            .insert_header("retry-after", "30")
            .set_body_json(limited),
    )
    .await;
    let answer = t.post("/v1/messages", &bitbybit_request()).await;
    assert_eq!((answer.status, answer.code()), (429, "RATE_LIMITED"));
    assert_eq!(answer.headers["retry-after"], "30");
    assert_eq!(
        t.stubs["bitbybit"].received_requests().await.unwrap().len(),
        1,
        "no wait fits in the time left"
    );
}

#[tokio::test]
async fn a_provider_429_without_retry_after_is_answered_without_one() {
    let t = TestApp::start().await;
    answer_every_post(
        &t.stubs["bitbybit"],
        ResponseTemplate::new(429).set_body_json(
            json!({"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests."}}),
        ),
    )
    .await;
    let answer = t.post("/v1/messages", &bitbybit_request()).await;
    assert_eq!((answer.status, answer.code()), (429, "RATE_LIMITED"));
    assert!(
        !answer.headers.contains_key("retry-after"),
        "Retry-After only when known: {:?}",
        answer.headers
    );
}

#[tokio::test]
async fn a_hanging_provider_is_provider_timeout_and_is_not_resent() {
    let t = TestApp::with(Options {
        vars: vec![("PROVIDER_TIMEOUT_MS", "300".into())],
        ..Options::default()
    })
    .await;
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(200)
            .set_body_json(autocalls_success())
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!((answer.status, answer.code()), (504, "PROVIDER_TIMEOUT"));
    assert_eq!(answer.body["error"]["retryable"], true);
    assert_eq!(
        t.stubs["autocalls"]
            .received_requests()
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_provider_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let t = TestApp::with(Options {
        vars: vec![("AUTOCALLS_BASE_URL", format!("http://{closed}"))],
        ..Options::default()
    })
    .await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (502, "PROVIDER_UNAVAILABLE")
    );
}

#[tokio::test]
async fn a_secret_without_the_provider_fails_that_provider_only() {
    let secret = json!({"bitbybit": {"api_key": BITBYBIT_KEY}}).to_string();
    let t = TestApp::with(Options {
        secret: Some(secret),
        ..Options::default()
    })
    .await;
    accepts(&t.stubs["bitbybit"], "bitbybit").await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(
        (
            answer.status,
            answer.code(),
            answer.body["error"]["retryable"].as_bool()
        ),
        (500, "CONFIGURATION_ERROR", Some(false))
    );
    assert_eq!(answer.body["error"]["provider"], "autocalls");
    assert_eq!(
        t.post("/v1/messages", &bitbybit_request()).await.status,
        200
    );
    assert!(t.stubs["autocalls"]
        .received_requests()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn autocalls_without_any_sender_id_is_a_configuration_error() {
    let secret = json!({"autocalls": {"api_key": AUTOCALLS_KEY}}).to_string();
    let t = TestApp::with(Options {
        secret: Some(secret),
        ..Options::default()
    })
    .await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!((answer.status, answer.code()), (500, "CONFIGURATION_ERROR"));
    assert!(answer.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sender_id"));
}

#[tokio::test]
async fn a_dry_run_builds_the_request_without_sending_or_showing_a_key() {
    let t = TestApp::start().await;
    let answer = t
        .post(
            "/v1/messages",
            &with(autocalls_request(), json!({"dry_run": true})),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["dry_run"], true);
    assert_eq!(answer.body["to"], "+14155551234");
    assert_eq!(answer.body["provider_request"]["method"], "POST");
    assert_eq!(
        answer.body["provider_request"]["url"],
        format!("{}/api/user/whatsapp/send", t.stubs["autocalls"].uri())
    );
    assert_eq!(
        answer.body["provider_request"]["body"]["sender_id"], 12,
        "the secret's default sender"
    );
    assert!(!answer.body.to_string().contains(AUTOCALLS_KEY));
    nothing_sent(&t).await;
}
