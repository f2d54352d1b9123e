//! Meta's answers: a success, and every error code of docs/providers.md ("meta").

use super::*;

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
