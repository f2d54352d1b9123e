//! Faults: time budgets, the retry policy, stale pooled connections, a Secrets Manager
//! outage past the TTL, and provider answers that are broken in every documented way.

use crate::support::aws::{AwsProxy, Mode};
use crate::support::function::Launch;
use crate::support::*;
use serde_json::json;
use std::time::Duration;
use wiremock::{MockServer, ResponseTemplate};

#[tokio::test]
async fn a_provider_hanging_past_the_deadline_gets_provider_timeout_before_the_deadline() {
    setup();
    let autocalls = MockServer::start().await;
    answer_every_post(
        &autocalls,
        ResponseTemplate::new(200)
            .set_body_json(autocalls_success())
            .set_delay(Duration::from_secs(30)),
    )
    .await;
    let function = Launch::new()
        .var("AUTOCALLS_BASE_URL", autocalls.uri())
        .var("PROVIDER_TIMEOUT_MS", "10000")
        .start()
        .await;
    // A 2 s function timeout, shorter than PROVIDER_TIMEOUT_MS: the time left wins.
    let timeout = Duration::from_secs(2);
    let answer = function
        .invoke(fixture("direct.json"), timeout)
        .await
        .expect("an answer, not a function error");
    let took = Duration::from_millis(logged_latency_ms(&function.output()));
    println!("PROVIDER_TIMEOUT answered {took:?} into a {timeout:?} invocation");
    assert_eq!(
        (
            answer["http_status"].as_u64(),
            answer["error"]["code"].as_str()
        ),
        (Some(504), Some("PROVIDER_TIMEOUT"))
    );
    assert!(took < timeout, "answered before the deadline");
}

#[tokio::test]
async fn a_refused_connection_is_retried_but_a_500_is_not_resent() {
    setup();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = TestApp::with(Options {
        vars: vec![("AUTOCALLS_BASE_URL", format!("http://127.0.0.1:{port}"))],
        ..Options::default()
    })
    .await;
    // The provider starts listening only after the first attempt was refused.
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let server = MockServer::builder().listener(listener).start().await;
        accepts(&server, "autocalls").await;
        server
    });
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    let server = late.await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    server.reset().await;
    answer_every_post(&server, ResponseTemplate::new(500)).await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(answer.code(), "PROVIDER_UNAVAILABLE");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a 500 is not resent"
    );
}

#[tokio::test]
async fn after_an_idle_period_the_next_send_does_not_reuse_a_stale_connection() {
    setup();
    let provider = MockServer::start().await;
    accepts(&provider, "autocalls").await;
    let proxy = AwsProxy::to(provider.address().to_string().as_str()).await;
    let mut t = TestApp::with(Options {
        vars: vec![("AUTOCALLS_BASE_URL", proxy.url.clone())],
        ..Options::default()
    })
    .await;
    let mut config = t.app.config.clone();
    config.pool_idle_timeout = Duration::from_millis(500);
    config.aws_endpoint_url = Some(t.aws.url.clone());
    t.app = wa_dispatch::App::new(config);
    assert_eq!(
        t.post("/v1/messages", &autocalls_request()).await.status,
        200
    );
    // The pooled connection's peer goes silent, as after a freeze; then the function idles.
    proxy.freeze_open_connections();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let answer = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(
        answer.status, 200,
        "first try after the idle period: {:?}",
        answer.body
    );
    assert_eq!(
        proxy.connections(),
        2,
        "a new connection, not the stale one"
    );
    assert_eq!(provider.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn during_an_outage_after_the_ttl_sends_go_on_within_the_grace_period_then_answer_503() {
    let t = TestApp::with(Options {
        vars: vec![
            ("SECRETS_CACHE_TTL_SECONDS", "1".into()),
            ("SECRETS_STALE_GRACE_SECONDS", "2".into()),
        ],
        ..Options::default()
    })
    .await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    assert_eq!(
        t.post("/v1/messages", &autocalls_request()).await.status,
        200
    );
    t.aws.set_mode(Mode::Refuse);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let within = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(
        within.status, 200,
        "the last good key serves within the grace period"
    );
    assert!(
        logs().contains("grace period"),
        "the stale use is logged as a warning"
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let after = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!((after.status, after.code()), (503, "SECRET_UNAVAILABLE"));
    assert_eq!(
        t.stubs["autocalls"]
            .received_requests()
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn broken_provider_answers_map_to_the_contract() {
    let t = TestApp::start().await;
    let huge = format!(
        "{{\"success\":true,\"message_sid\":\"SM1\",\"pad\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let json_as_html = autocalls_success().to_string();
    for (status, body, content_type) in [
        (200, huge.as_str(), "application/json"),
        (200, json_as_html.as_str(), "text/html"),
        (200, "{\"success\":tr", "application/json"),
        (503, "<html>Service Unavailable</html>", "text/html"),
    ] {
        t.stubs["autocalls"].reset().await;
        answer_every_post(
            &t.stubs["autocalls"],
            ResponseTemplate::new(status).set_body_raw(body.to_string(), content_type),
        )
        .await;
        let answer = t.post("/v1/messages", &autocalls_request()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (502, "PROVIDER_UNAVAILABLE"),
            "{status} {content_type} {} bytes",
            body.len()
        );
    }
    // A connection reset before any answer.
    let proxy = AwsProxy::to(t.stubs["autocalls"].address().to_string().as_str()).await;
    proxy.set_mode(Mode::Refuse);
    let reset = TestApp::with(Options {
        vars: vec![("AUTOCALLS_BASE_URL", proxy.url.clone())],
        ..Options::default()
    })
    .await;
    let answer = reset.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (502, "PROVIDER_UNAVAILABLE")
    );
    assert_eq!(json!(answer.body["error"]["retryable"]), json!(true));
}
