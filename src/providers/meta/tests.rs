//! Unit tests of the meta provider: the Graph request as docs/providers.md ("meta") says, and
//! every error code of its table.

use super::*;
use crate::infra::secrets::Secret;
use crate::providers::testing::{answer, parse, settings};
use crate::providers::ProviderRequest;
use serde_json::json;

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

#[test]
fn success_is_the_wamid_its_pacing_status_and_the_wa_id() {
    let ok = Meta
        .interpret(
            &answer(200, r#"{"messaging_product":"whatsapp","contacts":[{"input":"+14155551234","wa_id":"14155551234"}],"messages":[{"id":"wamid.HBgL","message_status":"held_for_quality_assessment"}]}"#),
            &Redact::none(),
        )
        .unwrap();
    assert_eq!(
        (ok.status.as_str(), ok.message_id.as_str()),
        ("held_for_quality_assessment", "wamid.HBgL")
    );
    // The wa_id is the recipient's number: shown masked, as every number we show is.
    let wa_id = ok.details["wa_id"].as_str().unwrap();
    assert_eq!(wa_id, "*******1234");
    let plain = Meta
        .interpret(
            &answer(200, r#"{"messages":[{"id":"wamid.X"}]}"#),
            &Redact::none(),
        )
        .unwrap();
    assert_eq!(plain.status, "accepted");
}

/// Every code of docs/providers.md ("meta"), as written there; any other code is a refusal with
/// its number, never success, whatever the HTTP status.
#[test]
fn every_error_code_maps_as_the_contract_says() {
    let cases: &[(i64, &str, bool)] = &[
        (0, "PROVIDER_AUTH_FAILED", false),
        (190, "PROVIDER_AUTH_FAILED", false),
        (10, "PROVIDER_AUTH_FAILED", false),
        (200, "PROVIDER_AUTH_FAILED", false),
        (250, "PROVIDER_AUTH_FAILED", false),
        (299, "PROVIDER_AUTH_FAILED", false),
        (131005, "PROVIDER_AUTH_FAILED", false),
        (4, "RATE_LIMITED", true),
        (80007, "RATE_LIMITED", true),
        (130429, "RATE_LIMITED", true),
        (131056, "RATE_LIMITED", true),
        (131000, "PROVIDER_UNAVAILABLE", true),
        (131016, "PROVIDER_UNAVAILABLE", true),
        (131057, "PROVIDER_UNAVAILABLE", true),
        (133004, "PROVIDER_UNAVAILABLE", true),
        (132001, "TEMPLATE_NOT_FOUND", false),
        (132000, "TEMPLATE_MISMATCH", false),
        (132012, "TEMPLATE_MISMATCH", false),
        (132015, "TEMPLATE_NOT_APPROVED", false),
        (132016, "TEMPLATE_NOT_APPROVED", false),
        (131042, "INSUFFICIENT_BALANCE", false),
        (100, "PROVIDER_REJECTED", false),
        (131026, "PROVIDER_REJECTED", false),
        (131047, "PROVIDER_REJECTED", false),
        (131050, "PROVIDER_REJECTED", false),
        (132005, "PROVIDER_REJECTED", false),
        (131049, "PROVIDER_REJECTED", true),
        (132069, "PROVIDER_REJECTED", true),
        (131064, "PROVIDER_REJECTED", true),
    ];
    for &(code, ours, retryable) in cases {
        for status in [400, 200, 500] {
            let body = format!(
                r#"{{"error":{{"message":"(#{code}) title","type":"OAuthException","code":{code},"error_data":{{"details":"why"}},"fbtrace_id":"Az8or2yhq"}}}}"#
            );
            let err = Meta
                .interpret(&answer(status, &body), &Redact::none())
                .unwrap_err();
            assert_eq!(
                (
                    err.code.as_str(),
                    err.is_retryable(),
                    err.provider_code.as_deref()
                ),
                (ours, retryable, Some(code.to_string().as_str())),
                "{code} with HTTP {status}"
            );
            assert!(
                !err.maybe_sent,
                "a Meta error says the message was not sent"
            );
            assert_eq!(err.message, "why");
            assert_eq!(
                err.provider_details.as_ref().unwrap()["fbtrace_id"],
                "Az8or2yhq"
            );
        }
    }
    // A code Meta does not document: a refusal (retryable as Meta's `is_transient` says),
    // except on a 5xx, where it is a server error after which the message may have been sent.
    for status in [400, 200] {
        let body =
            r#"{"error":{"message":"(#987654) title","code":987654,"fbtrace_id":"Az8or2yhq"}}"#;
        let err = Meta
            .interpret(&answer(status, body), &Redact::none())
            .unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.is_retryable(), err.maybe_sent),
            ("PROVIDER_REJECTED", false, false)
        );
    }
    for code in [1, 2, 987654] {
        let body =
            format!(r#"{{"error":{{"message":"retry later","code":{code},"is_transient":true}}}}"#);
        let err = Meta
            .interpret(&answer(500, &body), &Redact::none())
            .unwrap_err();
        assert_eq!(
            (
                err.code.as_str(),
                err.maybe_sent,
                err.provider_code.as_deref()
            ),
            (
                "PROVIDER_UNAVAILABLE",
                true,
                Some(code.to_string().as_str())
            ),
            "{code}"
        );
    }
    let transient = r#"{"error":{"message":"later","code":987654,"is_transient":true}}"#;
    assert!(Meta
        .interpret(&answer(400, transient), &Redact::none())
        .unwrap_err()
        .is_retryable());
    // 131056 is answered at once with Meta's least wait.
    let pair = r#"{"error":{"message":"pair rate","code":131056}}"#;
    assert_eq!(
        Meta.interpret(&answer(400, pair), &Redact::none())
            .unwrap_err()
            .retry_after,
        Some(6)
    );
}

#[test]
fn tokens_are_refused_and_throttling_signalled_by_code() {
    let body = |code: i64| format!(r#"{{"error":{{"code":{code},"message":"m"}}}}"#);
    assert!(Meta.key_refused(&answer(400, &body(190))));
    assert!(Meta.key_refused(&answer(401, &body(0))));
    assert!(!Meta.key_refused(&answer(401, &body(10))));
    assert!(Meta.throttled(&answer(400, &body(130429))));
    // One recipient, too often: Meta's wait is longer than any invocation, so never waited.
    assert!(!Meta.throttled(&answer(400, &body(131056))));
    assert!(!Meta.throttled(&answer(429, &body(100))));
}

#[test]
fn undocumented_answers_are_never_success() {
    for (status, body) in [
        (200, r#"{"messages":[]}"#),
        (200, r#"{"ok":true}"#),
        (200, "<html>ok</html>"),
        (502, "<html>Bad Gateway</html>"),
        (400, r#"{"error":{"message":"no code"}}"#),
    ] {
        let err = Meta
            .interpret(&answer(status, body), &Redact::none())
            .unwrap_err();
        assert_eq!(err.code, Code::ProviderUnavailable, "{status} {body}");
    }
}
