//! Unit tests of `providers/autocalls.rs`.
use super::*;
use crate::providers::testing::{answer, parse, settings};
use serde_json::json;

fn request(extra: Value) -> Value {
    let mut body = json!({"provider": "autocalls", "to": "+1 415 555 1234", "template": "45"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

fn secret(sender_id: Option<u64>) -> Secret {
    Secret::new(NAME, "k", json!({ "sender_id": sender_id }))
}

fn built(extra: Value, secret: &Secret) -> Result<ProviderRequest, ApiError> {
    parse(&Autocalls, &request(extra))?.build(Some(secret), &settings(&Autocalls))
}

#[test]
fn the_request_follows_the_documentation() {
    let built = built(
        json!({"variables": ["John", 15.5], "recipient_name": "John Doe", "autocalls": {"sender_id": 12}}),
        &secret(Some(99)),
    )
    .unwrap();
    assert_eq!(
        built.url.as_str(),
        "https://app.autocalls.ai/api/user/whatsapp/send"
    );
    assert_eq!(
        built.body,
        json!({"sender_id": 12, "template_id": 45, "recipient_phone": "+14155551234",
               "recipient_name": "John Doe", "variables": {"1": "John", "2": "15.5"}})
    );
}

#[test]
fn the_secret_gives_the_default_sender_and_named_variables_pass_as_they_are() {
    let body = built(json!({"variables": {"name": "Ann"}}), &secret(Some(99)))
        .unwrap()
        .body;
    assert_eq!(body["sender_id"], 99);
    assert_eq!(body["variables"], json!({"name": "Ann"}));
    let none = built(json!({}), &secret(None)).unwrap_err();
    assert_eq!(none.code, Code::ConfigurationError);
    assert!(built(json!({}), &secret(Some(1)))
        .unwrap()
        .body
        .get("variables")
        .is_none());
    let message = parse(&Autocalls, &request(json!({}))).unwrap();
    assert!(message.needs_secret(), "a dry run reads the default sender");
}

#[test]
fn its_template_media_and_block_are_checked() {
    let field = |extra: Value| {
        parse(&Autocalls, &request(extra))
            .err()
            .and_then(|e| e.field)
    };
    assert_eq!(field(json!({"template": 0})).as_deref(), Some("template"));
    assert_eq!(
        field(json!({"template": "4x"})).as_deref(),
        Some("template")
    );
    assert_eq!(
        field(json!({"media_url": "https://x.example/a.png"})).as_deref(),
        Some("media_url")
    );
    assert_eq!(
        field(json!({"autocalls": {"sender_id": -1}})).as_deref(),
        Some("autocalls.sender_id")
    );
    assert_eq!(
        field(json!({"autocalls": {"sender": 1}})).as_deref(),
        Some("autocalls.sender")
    );
    assert_eq!(field(json!({"template": "45"})), None);
}

#[test]
fn success_carries_the_sid_and_the_other_ids() {
    let ok = Autocalls
        .interpret(&answer(200, r#"{"success":true,"conversation_id":1234,"message_id":567,"whatsapp_message_id":890,"message_sid":"SMx","status":"Queued"}"#), &Redact::none())
        .unwrap();
    assert_eq!(
        (ok.status.as_str(), ok.message_id.as_str()),
        ("queued", "SMx")
    );
    assert_eq!(
        Value::Object(ok.details),
        json!({"conversation_id": 1234, "message_id": 567, "whatsapp_message_id": 890})
    );
}

#[test]
fn every_documented_error_maps_to_the_contract() {
    let cases = [
        (
            402,
            "INSUFFICIENT_BALANCE",
            "INSUFFICIENT_BALANCE",
            402,
            false,
        ),
        (404, "SENDER_NOT_FOUND", "SENDER_NOT_FOUND", 422, false),
        (404, "TEMPLATE_NOT_FOUND", "TEMPLATE_NOT_FOUND", 422, false),
        (422, "SENDER_OFFLINE", "SENDER_OFFLINE", 422, true),
        (
            422,
            "TEMPLATE_NOT_APPROVED",
            "TEMPLATE_NOT_APPROVED",
            422,
            false,
        ),
        (422, "TEMPLATE_NOT_SYNCED", "PROVIDER_REJECTED", 422, false),
        (422, "TEMPLATE_MISMATCH", "TEMPLATE_MISMATCH", 422, false),
        (
            422,
            "NO_ASSISTANT_CONFIGURED",
            "PROVIDER_REJECTED",
            422,
            false,
        ),
        (422, "INVALID_PHONE", "INVALID_PHONE", 400, false),
        (
            422,
            "MESSAGING_LIMIT_UNAVAILABLE",
            "PROVIDER_REJECTED",
            422,
            false,
        ),
        (
            422,
            "VOICE_CALL_LIMIT_NOT_MET",
            "PROVIDER_REJECTED",
            422,
            false,
        ),
        (422, "TWILIO_ERROR_63016", "PROVIDER_REJECTED", 422, false),
        (422, "UNKNOWN_ERROR", "PROVIDER_REJECTED", 422, false),
        (401, "UNAUTHENTICATED", "PROVIDER_AUTH_FAILED", 502, false),
        (429, "TOO_MANY", "RATE_LIMITED", 429, true),
        (503, "DOWN", "PROVIDER_UNAVAILABLE", 502, true),
        (404, "SOMETHING_ELSE", "PROVIDER_UNAVAILABLE", 502, true),
    ];
    for (status, theirs, ours, http, retryable) in cases {
        let body = format!(
            r#"{{"success":false,"error":"Sender is not online. Current status: Offline","error_code":"{theirs}"}}"#
        );
        let err = Autocalls
            .interpret(&answer(status, &body), &Redact::none())
            .unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.http_status(), err.code.retryable()),
            (ours, http, retryable),
            "{theirs}"
        );
        assert_eq!(err.provider_code.as_deref(), Some(theirs));
        assert_eq!(err.provider.as_deref(), Some("autocalls"));
    }
}

#[test]
fn undocumented_answers_are_never_success() {
    for (status, body) in [
        (200, r#"{"success":true}"#),
        (200, r#"{"success":false,"message_sid":"SMx"}"#),
        (200, "<html>ok</html>"),
        (200, r#"{"success":true,"message_sid":"#),
        (502, "<html><body>Bad Gateway</body></html>"),
    ] {
        assert_eq!(
            Autocalls
                .interpret(&answer(status, body), &Redact::none())
                .unwrap_err()
                .code,
            Code::ProviderUnavailable,
            "{body}"
        );
    }
}

#[test]
fn echoed_phone_numbers_are_masked_in_messages() {
    let body = r#"{"success":false,"error":"Invalid phone number +14155551234","error_code":"INVALID_PHONE"}"#;
    let err = Autocalls
        .interpret(&answer(422, body), &Redact::none())
        .unwrap_err();
    assert_eq!(err.message, "Invalid phone number +*******1234");
}
