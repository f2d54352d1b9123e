//! Hostile input: property tests over the event recogniser, the request parser and phone
//! normalization. No input may panic the function; each gets an answer or a clear error.

use crate::support::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use wa_dispatch::phone::{Country, Phone};
use wa_dispatch::request::{SendRequest, TOP_FIELDS};

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
    "1",
    "2",
];

fn keys() -> Vec<&'static str> {
    EVENT_KEYS.iter().chain(TOP_FIELDS).copied().collect()
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![
            "aws:sqs",
            "bitbybit",
            "autocalls",
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
        match SendRequest::parse(&value, None, None) {
            Ok(request) => prop_assert!(request.to.e164().starts_with('+')),
            Err(error) => prop_assert!(!error.message.is_empty()),
        }
    }
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
