//! Rejection cases of the send request: each names its field.

use super::*;
use crate::infra::secrets::Secret;
use crate::providers::Settings;
use serde_json::json;
use serde_json::Value;

fn parse(body: Value) -> Result<SendRequest, ApiError> {
    SendRequest::parse(&body.to_string(), None, None)
}

/// What the request's provider would send (with a secret whose default sender is 99).
fn sent(req: &SendRequest) -> Value {
    let provider = req.provider();
    let settings = Settings {
        base_url: reqwest::Url::parse(provider.defaults().base_url).unwrap(),
        max_rps: None,
    };
    let secret = Secret::new(provider.name(), "k", json!({"sender_id": 99}));
    req.message().build(Some(&secret), &settings).unwrap().body
}

fn field_of(body: Value) -> (Code, Option<String>) {
    let err = parse(body).unwrap_err();
    (err.code, err.field)
}

fn invalid(field: &str) -> (Code, Option<String>) {
    (Code::InvalidRequest, Some(field.to_string()))
}

#[test]
fn a_complete_autocalls_request_parses() {
    let req = parse(
        json!({"provider": "autocalls", "to": "+1 415 555 1234", "template": 45,
        "variables": ["John", "January 15, 2026", "2:00 PM"], "recipient_name": "John Doe",
        "client_reference": "order-8812", "autocalls": {"sender_id": 12}}),
    )
    .unwrap();
    let body = sent(&req);
    assert_eq!(body["template_id"], 45);
    assert_eq!(body["variables"]["3"], "2:00 PM");
    assert_eq!(body["sender_id"], 12);
    assert!(
        !format!("{req:?}").contains("John\""),
        "variable values stay out of Debug"
    );
}

#[test]
fn unknown_fields_are_named_at_the_top_and_in_blocks() {
    assert_eq!(
        field_of(
            json!({"provider": "bitbybit", "to": "+14155551234", "template": "t", "variabels": []})
        ),
        invalid("variabels")
    );
    assert_eq!(
        field_of(
            json!({"provider": "bitbybit", "to": "+14155551234", "template": "t", "bitbybit": {"source": "CRM"}})
        ),
        invalid("bitbybit.source")
    );
    assert_eq!(
        field_of(
            json!({"provider": "bitbybit", "to": "+14155551234", "template": "t", "autocalls": {}})
        ),
        invalid("autocalls")
    );
}

#[test]
fn the_provider_must_be_known_or_defaulted() {
    assert_eq!(
        field_of(json!({"to": "+14155551234", "template": "t"})),
        (Code::UnknownProvider, Some("provider".into()))
    );
    assert_eq!(
        field_of(json!({"provider": "twilio", "to": "+14155551234"})),
        (Code::UnknownProvider, Some("provider".into()))
    );
    let bitbybit = crate::providers::find("bitbybit");
    let req = SendRequest::parse(
        &json!({"to": "+14155551234", "template": "t"}).to_string(),
        bitbybit,
        None,
    )
    .unwrap();
    assert_eq!(req.provider().name(), "bitbybit");
}

#[test]
fn phones_templates_and_types_are_checked() {
    let base = |extra: Value| {
        let mut b = json!({"provider": "autocalls", "to": "+14155551234", "template": 45});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    assert_eq!(
        field_of(base(json!({"to": "+1 415 555"}))),
        (Code::InvalidPhone, Some("to".into()))
    );
    assert_eq!(field_of(base(json!({"to": 14155551234u64}))), invalid("to"));
    assert_eq!(field_of(base(json!({"template": 0}))), invalid("template"));
    assert_eq!(
        field_of(base(json!({"template": "4x"}))),
        invalid("template")
    );
    assert_eq!(
        sent(&parse(base(json!({"template": "45"}))).unwrap())["template_id"],
        45
    );
    assert_eq!(
        field_of(base(json!({"country": "Indonesia"}))),
        invalid("country")
    );
    assert_eq!(
        field_of(base(json!({"media_url": "https://x.example/a.png"}))),
        invalid("media_url")
    );
    assert_eq!(
        field_of(base(json!({"recipient_name": "x".repeat(256)}))),
        invalid("recipient_name")
    );
    assert_eq!(
        field_of(base(json!({"client_reference": "x".repeat(257)}))),
        invalid("client_reference")
    );
    assert_eq!(
        field_of(base(json!({"idempotency_key": "a\nb"}))),
        invalid("idempotency_key")
    );
    assert_eq!(
        field_of(base(json!({"dry_run": "yes"}))),
        invalid("dry_run")
    );
    assert_eq!(
        field_of(base(json!({"autocalls": {"sender_id": -1}}))),
        invalid("autocalls.sender_id")
    );
    assert_eq!(
        field_of(json!({"provider": "bitbybit", "to": "+14155551234", "template": 45})),
        invalid("template")
    );
    assert_eq!(
        field_of(json!({"provider": "bitbybit", "to": "+14155551234", "template": "  "})),
        invalid("template")
    );
    assert_eq!(
        field_of(
            json!({"provider": "bitbybit", "to": "+14155551234", "template": "t", "media_url": "http://x.example/a"})
        ),
        invalid("media_url")
    );
    assert_eq!(
        field_of(
            json!({"provider": "bitbybit", "to": "+14155551234", "template": "t", "bitbybit": {"sources": "sms"}})
        ),
        invalid("bitbybit.sources")
    );
    assert_eq!(
        field_of(json!(["not", "an", "object"])).0,
        Code::InvalidRequest
    );
}

#[test]
fn variables_follow_the_contract() {
    let bb = |vars: Value| json!({"provider": "bitbybit", "to": "+14155551234", "template": "t", "variables": vars});
    assert_eq!(
        field_of(bb(json!(["a", {"b": 1}]))),
        invalid("variables[1]")
    );
    assert_eq!(field_of(bb(json!([true]))), invalid("variables[0]"));
    assert_eq!(
        field_of(bb(json!({"1": "a", "3": "c"}))),
        invalid("variables.3")
    );
    assert_eq!(
        field_of(bb(json!({"name": "a"}))),
        invalid("variables.name")
    );
    assert_eq!(field_of(bb(json!(vec!["v"; 101]))), invalid("variables"));
    assert_eq!(
        field_of(bb(json!(["x".repeat(1025)]))),
        invalid("variables[0]")
    );
    assert_eq!(field_of(bb(json!("a"))), invalid("variables"));
    let ordered = parse(bb(json!({"10": "j", "2": "b", "1": "a", "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9.5}))).unwrap();
    assert_eq!(
        sent(&ordered)["params"],
        json!(["a", "b", "3", "4", "5", "6", "7", "8", "9.5", "j"])
    );
    let named = json!({"provider": "autocalls", "to": "+14155551234", "template": 1, "variables": {"name": "Ann"}});
    assert_eq!(
        sent(&parse(named).unwrap())["variables"],
        json!({"name": "Ann"})
    );
}

#[test]
fn the_idempotency_header_is_used_when_the_body_has_no_key() {
    let body = json!({"provider": "bitbybit", "to": "+14155551234", "template": "t"});
    assert_eq!(
        SendRequest::parse(&body.to_string(), None, Some("k-1"))
            .unwrap()
            .idempotency_key(),
        Some("k-1")
    );
    let err = SendRequest::parse(&body.to_string(), None, Some("")).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("Idempotency-Key"));
}
