//! Hostile input: property tests over the event recogniser, the request parser, phone
//! normalization, and provider answers (status, headers, body). No input, from a caller or
//! from a provider, may panic the function; each gets an answer or a clear error.

use crate::support::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{json, Map, Value};
use wa_dispatch::domain::phone::{Country, Phone};
use wa_dispatch::providers::transport::parse_retry_after;
use wa_dispatch::providers::{RawAnswer, Redact, REGISTRY};
use wa_dispatch::send::request::SendRequest;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

/// Keys of the event shapes and provider blocks; with the request's own fields, they steer
/// the recogniser and the parser into their branches.
const EVENT_KEYS: &[&str] = &[
    "Records",
    "eventSource",
    "body",
    "messageId",
    "detail",
    "detail-type",
    "source",
    "requestContext",
    "elb",
    "http",
    "method",
    "version",
    "httpMethod",
    "path",
    "rawPath",
    "headers",
    "isBase64Encoded",
    "sender_id",
    "template_source",
    "sources",
    "ignore_active_ticket",
    "bitbybit",
    "autocalls",
    "meta",
    "language",
    "phone_number_id",
    "header",
    "buttons",
    "sub_type",
    "index",
    "value",
    "type",
    "link",
    "text",
    "first_name",
    "1",
    "2",
    // Meta's answers.
    "messages",
    "id",
    "message_status",
    "contacts",
    "wa_id",
    "error",
    "code",
    "error_data",
    "details",
    "fbtrace_id",
];

/// The send request's own fields, as docs/api.md lists them (each provider's block comes
/// from the registry).
const REQUEST_FIELDS: &[&str] = &[
    "provider",
    "to",
    "country",
    "template",
    "variables",
    "recipient_name",
    "media_url",
    "client_reference",
    "idempotency_key",
    "dry_run",
];

/// Every provider's name: a request's `provider` and its block's key.
fn providers() -> Vec<&'static str> {
    wa_dispatch::providers::REGISTRY
        .iter()
        .map(|p| p.name())
        .collect()
}

fn keys() -> Vec<&'static str> {
    let fixed = EVENT_KEYS.iter().chain(REQUEST_FIELDS).copied();
    fixed.chain(providers()).collect()
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(providers()).prop_map(Value::from),
        prop::sample::select(vec![
            "aws:sqs",
            "image",
            "url",
            "copy_code",
            "https://cdn.example/a.png",
            "+1 415 555 0100",
            "2.0",
            "POST",
            "/v1/messages",
            "ID",
            "",
            "\u{0}\n\u{202e}"
        ])
        .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(keys()), inner), 0..8).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn phone_normalization_never_panics(text in "[0-9 +().-]{0,30}|\\PC{0,30}", country in prop::option::of(prop::sample::select(vec!["ID", "US", "GB", "DE", "BR"]))) {
        let country = country.map(|c| Country::parse(c).unwrap());
        if let Ok(phone) = Phone::parse(&text, country) {
            prop_assert!(phone.e164().starts_with('+'));
            prop_assert!(phone.masked().ends_with(&phone.e164()[phone.e164().len() - 4..]));
        }
    }

    #[test]
    fn the_request_parser_never_panics_and_names_a_field_or_accepts(value in json_value()) {
        match SendRequest::parse(&value.to_string(), None, None) {
            Ok(request) => prop_assert!(request.to().e164().starts_with('+')),
            Err(error) => prop_assert!(!error.message.is_empty()),
        }
    }
}

/// A provider's answer: any status, a content type from those seen in the wild, and a body
/// that is JSON of any shape (with the providers' own field names) or arbitrary bytes.
fn provider_answer() -> impl Strategy<Value = RawAnswer> {
    let body = prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
        Just(br#"{"success":true,"message_sid":"SM1"}"#.to_vec()),
        Just(br#"{"data":{"messageId2":"wamid.1"}}"#.to_vec()),
        Just(br#"{"messages":[{"id":"wamid.2","message_status":"held_for_quality_assessment"}],"contacts":[{"wa_id":"14155550100"}]}"#.to_vec()),
        prop::sample::select(vec![0i64, 4, 190, 130429, 131000, 132001, 987654, -1])
            .prop_map(|code| format!(r#"{{"error":{{"code":{code},"message":"(#{code}) x","fbtrace_id":"T"}}}}"#).into_bytes()),
    ];
    let content_type = prop::option::of(prop::sample::select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "text/html",
        "application/problem+json",
        "",
    ]));
    (prop_oneof![100u16..600, any::<u16>()], content_type, body).prop_map(
        |(status, content_type, body)| {
            RawAnswer::new(status, content_type.map(str::to_string), body)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn provider_answers_never_panic_and_only_a_documented_200_is_success(answer in provider_answer()) {
        let redact = Redact::new("sk-key", ["value"]);
        for provider in REGISTRY {
            // The questions the transport and the send service ask of every answer.
            let _ = (provider.throttled(&answer), provider.key_refused(&answer));
            match provider.interpret(&answer, &redact) {
                Ok(accepted) => {
                    prop_assert_eq!(answer.status, 200);
                    prop_assert!(!accepted.message_id.is_empty() && accepted.message_id.chars().count() <= 256);
                }
                Err(error) => {
                    prop_assert!(error.message.chars().count() <= 400, "{}", error.message);
                    prop_assert!(error.provider_code.as_deref().is_none_or(|c| c.chars().count() <= 64));
                    prop_assert!(!error.message.contains("sk-key"));
                    // Meta's error document is Meta's word that the send failed (docs/providers.md,
                    // "meta"), unless its code is none Meta documents and it came with a 5xx: only
                    // then may the message have been sent.
                    let labelled_json = answer.content_type.as_deref().is_none_or(|t| t.contains("json"));
                    let meta_said_so = provider.name() == "meta"
                        && labelled_json
                        && serde_json::from_slice::<Value>(&answer.body)
                            .is_ok_and(|b| b.pointer("/error/code").is_some_and(Value::is_i64));
                    if meta_said_so {
                        prop_assert!(!error.maybe_sent || answer.status >= 500);
                        prop_assert!(error.provider_code.is_some());
                    } else if error.code == wa_dispatch::error::Code::ProviderUnavailable {
                        // A 3xx or 4xx refused the request; anything else may have sent it.
                        prop_assert_eq!(error.maybe_sent, !(300..500).contains(&answer.status));
                    }
                }
            }
        }
    }

    #[test]
    fn retry_after_of_any_text_is_a_bounded_wait_or_none(text in "\\PC{0,40}|[0-9]{1,40}|-[0-9]{1,20}") {
        let now = std::time::SystemTime::now();
        if let Some(wait) = parse_retry_after(&text, now) {
            prop_assert!(text.trim().bytes().all(|b| b.is_ascii_digit()) || wait < std::time::Duration::from_secs(400 * 365 * 86_400));
        }
    }
}

#[test]
fn retry_after_is_read_in_both_forms() {
    let now = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_784_000_000);
    let secs = |s: &str| parse_retry_after(s, now).map(|d| d.as_secs());
    assert_eq!(secs("30"), Some(30));
    assert_eq!(secs(" 7 "), Some(7));
    assert_eq!(
        secs("10000000000000000000"),
        Some(10_000_000_000_000_000_000)
    );
    assert_eq!(secs("99999999999999999999999"), Some(u64::MAX));
    assert_eq!(secs("-5"), None);
    assert_eq!(secs("1.5"), None);
    assert_eq!(secs("soon"), None);
    assert_eq!(secs(""), None);
    // 2026-07-14T03:33:20Z is `now`; an HTTP date 90 s later, and one in the past.
    assert_eq!(secs("Tue, 14 Jul 2026 03:34:50 GMT"), Some(90));
    assert_eq!(secs("Tue, 14 Jul 2026 03:00:00 GMT"), Some(0));
}

/// Through the whole send path: providers answering 100 entries of a batch with random
/// statuses, `Retry-After` values and bodies (a fixed seed, printed) never panics the
/// function, and every entry gets a contract document.
#[test]
fn a_provider_answering_garbage_to_a_whole_batch_panics_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("provider garbage: ChaCha seed [7; 32]");
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(
        ProptestConfig::default(),
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &[7u8; 32],
        ),
    );
    let retry_after = prop_oneof![
        Just(None),
        Just(Some("10000000000000000000".to_string())),
        Just(Some("Tue, 14 Jul 2026 03:34:50 GMT".to_string())),
        "\\PC{0,12}".prop_map(Some),
        (0u64..3).prop_map(|n| Some(n.to_string())),
    ];
    let answers: Vec<(RawAnswer, Option<String>)> = (0..100)
        .map(|_| {
            (provider_answer(), retry_after.clone())
                .new_tree(&mut runner)
                .unwrap()
                .current()
        })
        .collect();
    let t = runtime.block_on(TestApp::with(Options {
        vars: vec![("PROVIDER_TIMEOUT_MS", "2000".into())],
        ..Options::default()
    }));
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let respond = move |_: &wiremock::Request| {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % answers.len();
        let (answer, retry_after) = &answers[i];
        // Statuses wiremock cannot send (below 200, above 599) become a 500.
        let status = if (200..600).contains(&answer.status) {
            answer.status
        } else {
            500
        };
        let mut response = ResponseTemplate::new(status).set_body_raw(
            answer.body.clone(),
            answer
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        );
        if let Some(value) = retry_after
            .as_deref()
            .filter(|v| v.bytes().all(|b| (0x20..0x7f).contains(&b)))
        {
            response = response.insert_header("retry-after", value);
        }
        response
    };
    runtime.block_on(async {
        // bitbybit and meta (whose throttling and key refusals are told by the body) share
        // the garbage, half the batch each.
        Mock::given(method("POST"))
            .respond_with(respond.clone())
            .mount(&t.stubs["bitbybit"])
            .await;
        Mock::given(method("POST"))
            .respond_with(respond)
            .mount(&t.stubs["meta"])
            .await;
        let messages: Vec<Value> = (0..100)
            .map(|i| {
                if i % 2 == 0 {
                    bitbybit_request()
                } else {
                    meta_request()
                }
            })
            .collect();
        let answer = t
            .post("/v1/messages/batch", &json!({ "messages": messages }))
            .await;
        assert_eq!(answer.status, 200);
        let results = answer.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 100);
        for result in results {
            let status = result["http_status"].as_u64().unwrap();
            if status != 200 {
                assert!(result["error"]["code"].is_string(), "{result}");
                assert!(!result["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(SECRET_VARIABLE));
            }
        }
    });
    drop(t);
}

#[test]
fn the_event_recogniser_answers_every_shape_without_panicking() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = runtime.block_on(TestApp::start());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    let seen = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&json_value(), |event| {
            // Either an answer or a function error; a panic would fail the runner.
            let _ = runtime.block_on(t.invoke(event));
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    assert!(seen.into_inner() >= 256);
    for event in [
        json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": "\u{0}"}]}),
        json!({"requestContext": {"elb": {}}, "httpMethod": "NOPE NOPE"}),
    ] {
        let _ = runtime.block_on(t.invoke(event));
    }
    drop(t);
}
