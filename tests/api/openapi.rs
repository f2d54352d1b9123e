//! `docs/openapi.yaml` parses, and each named request example of the send route, fed to
//! the real handler, gets the status under which its same-named response example sits.

use crate::support::*;
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

fn spec() -> Value {
    let text = std::fs::read_to_string(format!("{}/docs/openapi.yaml", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    serde_norway::from_str(&text).expect("docs/openapi.yaml parses")
}

#[test]
fn the_spec_is_openapi_3_1_with_every_route() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    for route in ["/v1/messages", "/v1/messages/batch", "/v1/health"] {
        assert!(spec["paths"][route].is_object(), "{route}");
    }
}

#[tokio::test]
async fn the_send_examples_are_answered_as_the_spec_says() {
    let spec = spec();
    let operation = &spec["paths"]["/v1/messages"]["post"];
    let requests = operation["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap();
    let responses = operation["responses"].as_object().unwrap();
    let t = TestApp::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(autocalls_success()))
        .mount(&t.autocalls)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bitbybit_success()))
        .mount(&t.bitbybit)
        .await;
    assert!(requests.len() >= 5);
    for (name, example) in requests {
        let (status, documented) = responses
            .iter()
            .find_map(|(status, r)| {
                r["content"]["application/json"]["examples"][name]
                    .as_object()
                    .map(|e| (status, e))
            })
            .unwrap_or_else(|| panic!("no response example named {name}"));
        let answer = t.post("/v1/messages", &example["value"]).await;
        assert_eq!(
            answer.status.to_string(),
            *status,
            "{name}: {:?}",
            answer.body
        );
        let want = &documented["value"];
        if let Some(code) = want["error"]["code"].as_str() {
            assert_eq!(answer.code(), code, "{name}");
            assert_eq!(
                answer.body["error"]["field"], want["error"]["field"],
                "{name}"
            );
        } else {
            for key in ["provider", "status", "to", "dry_run", "client_reference"] {
                if want.get(key).is_some() {
                    assert_eq!(answer.body[key], want[key], "{name}: {key}");
                }
            }
        }
    }
}
