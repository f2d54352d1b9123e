//! The shipped provider simulator (`examples/simulator.rs`) answers every documented error
//! of both providers when a reserved template asks for it, and success otherwise; driven
//! here through the real handler, so that each maps to the contract's code.

#[allow(dead_code, clippy::module_inception)]
#[path = "../../examples/simulator.rs"]
pub mod simulator;

use crate::support::*;
use serde_json::json;

async fn against_simulator() -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(simulator::serve(listener));
    TestApp::with(Options {
        vars: vec![
            ("BITBYBIT_BASE_URL", format!("{base}/bitbybit")),
            ("AUTOCALLS_BASE_URL", format!("{base}/autocalls")),
        ],
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn the_simulator_accepts_valid_requests_of_both_providers() {
    let t = against_simulator().await;
    let a = t.post("/v1/messages", &autocalls_request()).await;
    assert_eq!(
        (a.status, a.body["status"].as_str()),
        (200, Some("queued")),
        "{:?}",
        a.body
    );
    let mut b = bitbybit_request();
    b["bitbybit"] = json!({"template_source": "AUTH", "sources": "whatsapp coex", "ignore_active_ticket": true});
    b["media_url"] = json!("https://cdn.example/a.png");
    let b = t.post("/v1/messages", &b).await;
    assert_eq!(
        (b.status, b.body["status"].as_str()),
        (200, Some("accepted")),
        "{:?}",
        b.body
    );
}

#[tokio::test]
async fn the_simulator_answers_every_documented_autocalls_error() {
    let t = against_simulator().await;
    let expected = [
        ("INSUFFICIENT_BALANCE", 402, "INSUFFICIENT_BALANCE"),
        ("SENDER_NOT_FOUND", 422, "SENDER_NOT_FOUND"),
        ("TEMPLATE_NOT_FOUND", 422, "TEMPLATE_NOT_FOUND"),
        ("SENDER_OFFLINE", 422, "SENDER_OFFLINE"),
        ("TEMPLATE_NOT_APPROVED", 422, "TEMPLATE_NOT_APPROVED"),
        ("TEMPLATE_NOT_SYNCED", 422, "PROVIDER_REJECTED"),
        ("TEMPLATE_MISMATCH", 422, "TEMPLATE_MISMATCH"),
        ("NO_ASSISTANT_CONFIGURED", 422, "PROVIDER_REJECTED"),
        ("INVALID_PHONE", 400, "INVALID_PHONE"),
        ("MESSAGING_LIMIT_UNAVAILABLE", 422, "PROVIDER_REJECTED"),
        ("VOICE_CALL_LIMIT_NOT_MET", 422, "PROVIDER_REJECTED"),
        ("TWILIO_ERROR_63016", 422, "PROVIDER_REJECTED"),
        ("UNKNOWN_ERROR", 422, "PROVIDER_REJECTED"),
    ];
    assert_eq!(simulator::AUTOCALLS_ERRORS.len(), expected.len());
    for ((id, their_status, theirs), (want_theirs, status, ours)) in
        simulator::AUTOCALLS_ERRORS.iter().zip(expected)
    {
        assert_eq!(*theirs, want_theirs);
        let mut request = autocalls_request();
        request["template"] = json!(id);
        let answer = t.post("/v1/messages", &request).await;
        assert_eq!((answer.status, answer.code()), (status, ours), "{theirs}");
        assert_eq!(answer.body["error"]["provider_status"], *their_status);
        assert_eq!(answer.body["error"]["provider_code"], *theirs);
    }
}

#[tokio::test]
async fn the_simulator_answers_every_documented_bitbybit_error() {
    let t = against_simulator().await;
    let expected = [
        (422, "PROVIDER_REJECTED"),
        (502, "PROVIDER_AUTH_FAILED"),
        (502, "PROVIDER_AUTH_FAILED"),
        (429, "RATE_LIMITED"),
    ];
    for ((name, their_status, theirs), (status, ours)) in
        simulator::BITBYBIT_ERRORS.iter().zip(expected)
    {
        let mut request = bitbybit_request();
        request["template"] = json!(name);
        let answer = t.post("/v1/messages", &request).await;
        assert_eq!((answer.status, answer.code()), (status, ours), "{name}");
        assert_eq!(
            (
                answer.body["error"]["provider_status"].as_u64(),
                answer.body["error"]["provider_code"].as_str()
            ),
            (Some(*their_status as u64), Some(*theirs))
        );
    }
}
