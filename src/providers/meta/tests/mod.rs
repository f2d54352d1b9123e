//! Unit tests of the meta provider: the Graph request as docs/providers.md ("meta") says, and
//! every error code of its table.

use super::*;
use crate::error::Code;
use crate::infra::secrets::Secret;
use crate::providers::testing::{answer, parse, settings};
use crate::providers::ProviderRequest;
use serde_json::json;

mod answers;

fn request(extra: Value) -> Value {
    let mut body = json!({"provider": "meta", "to": "+1 415 555 1234", "template": "order_update",
        "meta": {"language": "en_US", "phone_number_id": "106540352242922"}});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

fn secret() -> Secret {
    Secret::new(
        NAME,
        "token",
        json!({"phone_number_id": "999", "language": "pt_BR"}),
    )
}

fn built(extra: Value) -> Result<ProviderRequest, ApiError> {
    parse(&Meta, &request(extra))?.build(Some(&secret()), &settings(&Meta))
}

fn field(extra: Value) -> Option<String> {
    parse(&Meta, &request(extra)).err().and_then(|e| e.field)
}

#[test]
fn the_request_is_the_graph_apis_template_message() {
    let built = built(
        json!({"variables": ["Ana", 15.5], "meta": {"language": "en_US",
        "phone_number_id": "106540352242922",
        "header": {"type": "image", "link": "https://cdn.example/a.png"},
        "buttons": [{"sub_type": "url", "index": 0, "value": "A12345"},
                    {"sub_type": "quick_reply", "index": 1, "value": "stop"},
                    {"sub_type": "copy_code", "index": 2, "value": "CARIBE25"}]}}),
    )
    .unwrap();
    assert_eq!(
        built.url.as_str(),
        "https://graph.facebook.com/v25.0/106540352242922/messages"
    );
    assert_eq!(
        built.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+14155551234",
        "type": "template", "template": {"name": "order_update", "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.example/a.png"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "15.5"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A12345"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [{"type": "payload", "payload": "stop"}]},
            {"type": "button", "sub_type": "copy_code", "index": "2", "parameters": [{"type": "coupon_code", "coupon_code": "CARIBE25"}]}
        ]}})
    );
}

#[test]
fn the_sending_numbers_id_is_digits_since_it_is_part_of_the_url() {
    for id in ["", "12/../../me", "1 2", "abc", &"1".repeat(33)] {
        let answer = built(json!({"meta": {"language": "en", "phone_number_id": id}}));
        assert_eq!(
            answer.unwrap_err().field.as_deref(),
            Some("meta.phone_number_id"),
            "{id}"
        );
    }
    let from_secret = Secret::new(
        NAME,
        "token",
        json!({"phone_number_id": "../me", "language": "en"}),
    );
    let message = parse(
        &Meta,
        &json!({"provider": "meta", "to": "+1 415 555 1234", "template": "t"}),
    )
    .unwrap();
    let refused = message
        .build(Some(&from_secret), &settings(&Meta))
        .unwrap_err();
    assert_eq!(refused.code, Code::ConfigurationError);
    assert!(!refused.message.contains("../me"));
}

#[test]
fn named_variables_carry_their_names_and_no_components_means_none_are_sent() {
    let named = built(json!({"variables": {"first_name": "Ana", "code": "W25"}})).unwrap();
    assert_eq!(
        named.body["template"]["components"],
        json!([{"type": "body", "parameters": [
            {"type": "text", "parameter_name": "code", "text": "W25"},
            {"type": "text", "parameter_name": "first_name", "text": "Ana"}]}])
    );
    let positional = built(json!({"variables": {"2": "b", "1": "a"}})).unwrap();
    assert_eq!(
        positional.body["template"]["components"][0]["parameters"],
        json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])
    );
    let bare = built(json!({})).unwrap();
    assert!(bare.body["template"].get("components").is_none());
    let header = built(json!({"meta": {"language": "en", "phone_number_id": "1", "header": {"type": "text", "text": "Hi"}}})).unwrap();
    assert_eq!(
        header.body["template"]["components"],
        json!([{"type": "header", "parameters": [{"type": "text", "text": "Hi"}]}])
    );
}

#[test]
fn the_secret_gives_the_sending_number_and_the_language() {
    let request = json!({"provider": "meta", "to": "+1 415 555 1234", "template": "t"});
    let message = parse(&Meta, &request).unwrap();
    assert!(message.needs_secret());
    let built = message.build(Some(&secret()), &settings(&Meta)).unwrap();
    assert_eq!(built.url.path(), "/v25.0/999/messages");
    assert_eq!(built.body["template"]["language"]["code"], "pt_BR");
    assert_eq!(message.pace_key(&secret()).as_deref(), Some("999"));
    let bare = Secret::new(NAME, "token", json!({}));
    let err = message.build(Some(&bare), &settings(&Meta)).unwrap_err();
    assert_eq!(err.code, Code::ConfigurationError);
}

#[test]
fn its_request_rules_name_the_field() {
    assert_eq!(
        field(json!({"media_url": "https://x.example/a.png"})).as_deref(),
        Some("media_url")
    );
    assert_eq!(field(json!({"template": 45})).as_deref(), Some("template"));
    assert_eq!(
        field(json!({"variables": {"1": "a", "name": "b"}})).as_deref(),
        Some("variables.1")
    );
    assert_eq!(
        field(json!({"variables": {"First": "a"}})).as_deref(),
        Some("variables.First")
    );
    assert_eq!(
        field(json!({"variables": {"1": "a", "3": "c"}})).as_deref(),
        Some("variables.3")
    );
    assert_eq!(
        field(json!({"meta": {"lang": "en"}})).as_deref(),
        Some("meta.lang")
    );
    assert_eq!(
        field(json!({"meta": {"header": {"type": "audio", "link": "https://a.example/x"}}}))
            .as_deref(),
        Some("meta.header.type")
    );
    assert_eq!(
        field(json!({"meta": {"header": {"type": "image", "link": "http://a.example/x"}}}))
            .as_deref(),
        Some("meta.header.link")
    );
    assert_eq!(
        field(json!({"meta": {"header": {"type": "text", "text": "x".repeat(61)}}})).as_deref(),
        Some("meta.header.text")
    );
    assert_eq!(
        field(json!({"meta": {"buttons": [{"sub_type": "url", "index": 10, "value": "a"}]}}))
            .as_deref(),
        Some("meta.buttons[0].index")
    );
    assert_eq!(
        field(json!({"meta": {"buttons": [{"sub_type": "flow", "index": 0, "value": "a"}]}}))
            .as_deref(),
        Some("meta.buttons[0].sub_type")
    );
    assert_eq!(field(json!({"meta": {"buttons": [{"sub_type": "copy_code", "index": 0, "value": "x".repeat(16)}]}})).as_deref(), Some("meta.buttons[0].value"));
    assert_eq!(field(json!({"recipient_name": "left out"})), None);
}
