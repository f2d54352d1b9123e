//! Secrets against moto's Secrets Manager: caching, single flight, rotation after a 401,
//! and an outage answered quickly and recovered from.

use crate::support::aws::Mode;
use crate::support::*;
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn twenty_sends_within_the_ttl_make_one_get_secret_value_call() {
    let t = TestApp::start().await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    for _ in 0..20 {
        assert_eq!(
            t.post("/v1/messages", &autocalls_request()).await.status,
            200
        );
    }
    assert_eq!(t.aws.get_secret_value_calls(), 1);
    assert_eq!(
        t.stubs["autocalls"]
            .received_requests()
            .await
            .unwrap()
            .len(),
        20
    );
}

#[tokio::test]
async fn twenty_concurrent_first_sends_make_one_get_secret_value_call() {
    let t = TestApp::start().await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    let request = autocalls_request();
    let sends = (0..20).map(|_| t.post("/v1/messages", &request));
    let answers = futures_util::future::join_all(sends).await;
    assert!(answers.iter().all(|a| a.status == 200));
    assert_eq!(t.aws.get_secret_value_calls(), 1);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_after_a_provider_401_with_one_retry() {
    let t = TestApp::start().await;
    Mock::given(method("POST"))
        .and(header(
            "authorization",
            format!("Bearer {ROTATED_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(autocalls_success()))
        .mount(&t.stubs["autocalls"])
        .await;
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthenticated."})),
    )
    .await;
    // The first send caches the old key, which the provider refuses: no key change, no retry.
    let first = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!((first.status, first.code()), (502, "PROVIDER_AUTH_FAILED"));
    assert_eq!(
        t.stubs["autocalls"]
            .received_requests()
            .await
            .unwrap()
            .len(),
        1,
        "same key: not resent"
    );
    assert_eq!(
        t.aws.get_secret_value_calls(),
        2,
        "fetched, then refetched once on the 401"
    );

    let rotated = json!({"bitbybit": {"api_key": BITBYBIT_KEY}, "autocalls": {"api_key": ROTATED_KEY, "sender_id": 12}});
    aws::put_secret(&t.secret_id, &rotated.to_string()).await;
    let second = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let sent = t.stubs["autocalls"].received_requests().await.unwrap();
    assert_eq!(
        sent.len(),
        3,
        "one refused try with the cached key, one retry with the new key"
    );
    assert_eq!(t.aws.get_secret_value_calls(), 3);
    // The new key is now cached: the next send goes straight through.
    assert_eq!(
        t.post("/v1/messages", &autocalls_request()).await.status,
        200
    );
    assert_eq!(t.aws.get_secret_value_calls(), 3);
}

#[tokio::test]
async fn secrets_manager_down_answers_503_quickly_and_the_next_send_after_recovery_succeeds() {
    let t = TestApp::start().await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    for mode in [Mode::Hang, Mode::Refuse] {
        t.aws.set_mode(mode);
        let started = Instant::now();
        let answer = t.post("/v1/messages", &autocalls_request()).await;
        let took = started.elapsed();
        println!("{mode:?}: SECRET_UNAVAILABLE after {took:?}");
        assert_eq!(
            (answer.status, answer.code()),
            (503, "SECRET_UNAVAILABLE"),
            "{mode:?}"
        );
        assert_eq!(answer.body["error"]["retryable"], true);
        // The SDK's operation timeout is 2.5 s; the contract's promise is an answer in seconds.
        assert!(took < Duration::from_secs(5), "{mode:?} took {took:?}");
    }
    t.aws.set_mode(Mode::Forward);
    assert_eq!(
        t.post("/v1/messages", &autocalls_request()).await.status,
        200
    );
    assert!(
        t.stubs["autocalls"]
            .received_requests()
            .await
            .unwrap()
            .len()
            == 1
    );
}

#[tokio::test]
async fn during_an_outage_waiting_sends_share_one_failed_fetch() {
    let t = TestApp::start().await;
    t.aws.set_mode(Mode::Hang);
    let request = autocalls_request();
    let started = Instant::now();
    let answers =
        futures_util::future::join_all((0..10).map(|_| t.post("/v1/messages", &request))).await;
    assert!(answers.iter().all(|a| a.code() == "SECRET_UNAVAILABLE"));
    println!(
        "10 concurrent sends during an outage answered in {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "they did not queue one timeout after another"
    );
}

#[tokio::test]
async fn a_per_provider_secret_may_hold_the_bare_key_and_takes_precedence() {
    setup();
    let bare = format!("bare-{}", std::process::id());
    aws::put_secret(&bare, ROTATED_KEY).await;
    let t = TestApp::with(Options {
        vars: vec![("BITBYBIT_SECRET_ID", bare)],
        ..Options::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(header("x-api-key", ROTATED_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbybit_success()))
        .expect(1)
        .mount(&t.stubs["bitbybit"])
        .await;
    assert_eq!(
        t.post("/v1/messages", &bitbybit_request()).await.status,
        200
    );
}

#[tokio::test]
async fn a_local_secrets_file_replaces_secrets_manager() {
    let dir = std::env::temp_dir().join(format!("wa-dispatch-secrets-{}", std::process::id()));
    std::fs::write(&dir, default_secret()).unwrap();
    let t = TestApp::with(Options {
        vars: vec![("PROVIDER_SECRETS_FILE", dir.display().to_string())],
        secret: None,
        ..Options::default()
    })
    .await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    assert_eq!(
        t.post("/v1/messages", &autocalls_request()).await.status,
        200
    );
    assert_eq!(t.aws.get_secret_value_calls(), 0);
}
