//! Unit tests of `providers/bitbybit.rs`.
use super::*;
use crate::providers::testing::{answer, parse, settings};
use serde_json::json;

fn built(request: Value) -> Result<Value, ApiError> {
    let message = parse(&Bitbybit, &request)?;
    Ok(message.build(None, &settings(&Bitbybit))?.body)
}

#[test]
fn the_request_follows_the_documentation() {
    let request = json!({"provider": "bitbybit", "to": "0812-3456-7890", "country": "ID", "template": "welcome",
            "variables": {"2": "b", "1": 7}, "media_url": "https://cdn.example/a.png",
            "recipient_name": "left out", "bitbybit": {"sources": "whatsapp coex", "ignore_active_ticket": true}});
    let message = parse(&Bitbybit, &request).unwrap();
    let built = message.build(None, &settings(&Bitbybit)).unwrap();
    assert_eq!(
        built.url.as_str(),
        "https://api.bitbybit.studio/whatsapp/open/v1/messages/send-template"
    );
    assert_eq!(
        built.body,
        json!({"to": "6281234567890", "template_name": "welcome", "template_source": "CRM",
               "sources": "whatsapp coex", "params": ["7", "b"], "mediaUrl": "https://cdn.example/a.png",
               "ignoreActiveTicket": true, "countryCode": "ID"})
    );
}

#[test]
fn its_template_variables_and_block_are_checked() {
    let base = |extra: Value| {
        let mut body = json!({"provider": "bitbybit", "to": "+14155551234", "template": "t"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        built(body).unwrap_err().field
    };
    assert_eq!(base(json!({"template": 45})).as_deref(), Some("template"));
    assert_eq!(base(json!({"template": "  "})).as_deref(), Some("template"));
    assert_eq!(
        base(json!({"variables": {"1": "a", "3": "c"}})).as_deref(),
        Some("variables.3")
    );
    assert_eq!(
        base(json!({"variables": {"name": "a"}})).as_deref(),
        Some("variables.name")
    );
    assert_eq!(
        base(json!({"bitbybit": {"sources": "sms"}})).as_deref(),
        Some("bitbybit.sources")
    );
    assert_eq!(
        base(json!({"bitbybit": {"source": "CRM"}})).as_deref(),
        Some("bitbybit.source")
    );
    let ordered = built(json!({"provider": "bitbybit", "to": "+14155551234", "template": "t",
        "variables": {"10": "j", "2": "b", "1": "a", "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9.5}}))
        .unwrap();
    assert_eq!(
        ordered["params"],
        json!(["a", "b", "3", "4", "5", "6", "7", "8", "9.5", "j"])
    );
}

#[test]
fn success_carries_message_id2_and_timestamp() {
    let ok = Bitbybit
        .interpret(
            &answer(
                200,
                r#"{"data":{"messageId2":"wamid.1","timestamp":"2026-01-15T14:00:00Z"}}"#,
            ),
            &Redact::none(),
        )
        .unwrap();
    assert_eq!(ok.message_id, "wamid.1");
    assert_eq!(ok.status, "accepted");
    assert_eq!(ok.details["timestamp"], "2026-01-15T14:00:00Z");
}

#[test]
fn every_documented_error_maps_to_the_contract() {
    let cases = [
        (400, "VALIDATION_ERROR", "PROVIDER_REJECTED", 422, false),
        (401, "INVALID_API_KEY", "PROVIDER_AUTH_FAILED", 502, false),
        (
            403,
            "INSUFFICIENT_SCOPE",
            "PROVIDER_AUTH_FAILED",
            502,
            false,
        ),
        (429, "RATE_LIMIT_EXCEEDED", "RATE_LIMITED", 429, true),
        (500, "INTERNAL", "PROVIDER_UNAVAILABLE", 502, true),
        (404, "NOT_FOUND", "PROVIDER_UNAVAILABLE", 502, true),
    ];
    for (status, theirs, ours, http, retryable) in cases {
        let body = format!(r#"{{"error":{{"code":"{theirs}","message":"m"}}}}"#);
        let err = Bitbybit
            .interpret(&answer(status, &body), &Redact::none())
            .unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.http_status(), err.code.retryable()),
            (ours, http, retryable),
            "{status}"
        );
        assert_eq!(err.provider_status, Some(status));
        assert_eq!(err.provider_code.as_deref(), Some(theirs));
    }
}

#[test]
fn undocumented_answers_are_never_success() {
    for (status, body) in [
        (200, r#"{"data":{}}"#),
        (200, r#"{"ok":true}"#),
        (200, ""),
        (200, "<html>ok</html>"),
        (502, "<html><body>Bad Gateway</body></html>"),
    ] {
        let err = Bitbybit
            .interpret(&answer(status, body), &Redact::none())
            .unwrap_err();
        assert_eq!(err.code, Code::ProviderUnavailable, "{status} {body}");
    }
}
