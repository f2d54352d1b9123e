//! The `meta` provider (contract section 11) through the real handler: against the shipped
//! simulator's Meta stand-in (every event source, every mapped error code, over HTTP and
//! SQS), and against wiremock stubs for what the simulator does not do (unknown codes, a
//! rotated token, hostile echoes, pacing per sending number, the delivery rule).

use crate::simulator::simulator;
use crate::support::arrivals::busiest_second;
use crate::support::aws::create_idempotency_table;
use crate::support::hostile::ResettingProvider;
use crate::support::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

const MESSAGES: &str = "/v25.0/106540352242922/messages";

/// Section 11's error table, written out from the contract (not from the code): Meta's
/// code, our code, our HTTP status, retryable.
const CONTRACT: &[(i64, &str, u16, bool)] = &[
    (0, "PROVIDER_AUTH_FAILED", 502, false),
    (190, "PROVIDER_AUTH_FAILED", 502, false),
    (10, "PROVIDER_AUTH_FAILED", 502, false),
    (200, "PROVIDER_AUTH_FAILED", 502, false),
    (299, "PROVIDER_AUTH_FAILED", 502, false),
    (131005, "PROVIDER_AUTH_FAILED", 502, false),
    (4, "RATE_LIMITED", 429, true),
    (80007, "RATE_LIMITED", 429, true),
    (130429, "RATE_LIMITED", 429, true),
    (131056, "RATE_LIMITED", 429, true),
    (131000, "PROVIDER_UNAVAILABLE", 502, true),
    (131016, "PROVIDER_UNAVAILABLE", 502, true),
    (131057, "PROVIDER_UNAVAILABLE", 502, true),
    (133004, "PROVIDER_UNAVAILABLE", 502, true),
    (132001, "TEMPLATE_NOT_FOUND", 422, false),
    (132000, "TEMPLATE_MISMATCH", 422, false),
    (132012, "TEMPLATE_MISMATCH", 422, false),
    (132015, "TEMPLATE_NOT_APPROVED", 422, false),
    (132016, "TEMPLATE_NOT_APPROVED", 422, false),
    (131042, "INSUFFICIENT_BALANCE", 402, false),
    // Every other documented code: refused, with Meta's number; retryable where Meta
    // advises a later retry (131049: after 24 hours).
    (100, "PROVIDER_REJECTED", 422, false),
    (131026, "PROVIDER_REJECTED", 422, false),
    (131049, "PROVIDER_REJECTED", 422, true),
    (131050, "PROVIDER_REJECTED", 422, false),
];

async fn against_simulator(vars: Vec<(&'static str, String)>) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(simulator::serve(listener));
    let mut all = vec![("META_BASE_URL", format!("{base}/meta/v25.0"))];
    all.extend(vars);
    TestApp::with(Options {
        vars: all,
        ..Options::default()
    })
    .await
}

fn with(mut request: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        request[k] = v.clone();
    }
    request
}

fn sqs_event(records: &[(String, Value)]) -> Value {
    let template = fixture("sqs-batch.json")["Records"][0].clone();
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            let mut record = template.clone();
            record["messageId"] = json!(id);
            record["body"] = json!(body.to_string());
            record
        })
        .collect();
    json!({ "Records": records })
}

fn failures(answer: &Value) -> Vec<String> {
    let mut ids: Vec<String> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_meta_send_succeeds_from_every_event_source_and_its_dry_run_is_the_graph_body() {
    let t = against_simulator(vec![]).await;
    let request = meta_request();

    let http = t.post("/v1/messages", &request).await;
    assert_eq!(http.status, 200, "{:?}", http.body);
    assert_eq!(
        (
            &http.body["provider"],
            &http.body["status"],
            &http.body["to"]
        ),
        (&json!("meta"), &json!("accepted"), &json!("+14155551234"))
    );
    assert!(http.body["message_id"]
        .as_str()
        .unwrap()
        .starts_with("wamid.SIM"));
    assert_eq!(http.body["provider_details"]["wa_id"], "*******1234");

    let sqs = t
        .invoke(sqs_event(&[("meta-1".into(), request.clone())]))
        .await
        .unwrap();
    assert_eq!(sqs, json!({"batchItemFailures": []}));

    let mut eventbridge = fixture("eventbridge.json");
    eventbridge["detail"] = request.clone();
    let sent = t.invoke(eventbridge).await.expect("not a function error");
    assert_eq!(
        (&sent["provider"], &sent["status"]),
        (&json!("meta"), &json!("accepted"))
    );

    let direct = t.invoke(request.clone()).await.unwrap();
    assert_eq!(
        (&direct["http_status"], &direct["provider"]),
        (&json!(200), &json!("meta"))
    );

    // The dry run shows the exact request Meta's send-messages page asks for.
    let dry = t
        .post("/v1/messages", &with(request, json!({"dry_run": true})))
        .await;
    assert_eq!(dry.status, 200, "{:?}", dry.body);
    let url = dry.body["provider_request"]["url"].as_str().unwrap();
    assert!(
        url.ends_with("/meta/v25.0/106540352242922/messages"),
        "{url}"
    );
    assert_eq!(
        dry.body["provider_request"]["body"],
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+14155551234",
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": SECRET_VARIABLE},
                    {"type": "text", "text": "January 15, 2026"}
                ]}]
            },
            // The request's client_reference, which Meta echoes in every status (added
            // 2026-12-01 for delivery statuses).
            "biz_opaque_callback_data": "order-8814"
        })
    );
    assert!(!dry.body.to_string().contains(META_TOKEN));
}

#[tokio::test]
async fn a_paced_template_is_accepted_as_held_for_quality_assessment() {
    let t = against_simulator(vec![]).await;
    let mut request = meta_request();
    request["template"] = json!(simulator::META_PACED);
    let held = t.post("/v1/messages", &request).await;
    assert_eq!(
        (held.status, held.body["status"].as_str()),
        (200, Some("held_for_quality_assessment"))
    );
}

#[tokio::test]
async fn every_meta_error_code_maps_as_the_contract_says_over_http_and_sqs() {
    let t = against_simulator(vec![]).await;
    // The simulator answers every code the contract names, with Meta's old HTTP statuses.
    let served: Vec<i64> = simulator::META_ERRORS.iter().map(|(c, _, _)| *c).collect();
    for (code, ..) in CONTRACT {
        assert!(served.contains(code), "the simulator lacks {code}");
    }

    // The secret is fetched once by a first send; from then on only a refusal refetches it.
    assert_eq!(t.post("/v1/messages", &meta_request()).await.status, 200);
    let mut records = vec![];
    for (code, ours, status, retryable) in CONTRACT {
        let mut request = meta_request();
        request["template"] = json!(format!("sim_error_{code}"));
        let fetches = t.aws.get_secret_value_calls();
        let answer = t.post("/v1/messages", &request).await;
        let error = &answer.body["error"];
        assert_eq!((answer.status, answer.code()), (*status, *ours), "{code}");
        assert_eq!(error["retryable"], *retryable, "{code}");
        assert_eq!(error["provider"], "meta");
        assert_eq!(error["provider_code"], code.to_string(), "{code}");
        let their_status = simulator::META_ERRORS
            .iter()
            .find(|(c, ..)| c == code)
            .unwrap()
            .1;
        assert_eq!(error["provider_status"], their_status, "{code}");
        assert!(
            error["provider_details"]["fbtrace_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("SIMtrace")),
            "{code}: {error}"
        );
        // Only a refused token (0, 190) sends us back to Secrets Manager.
        let refetched = t.aws.get_secret_value_calls() - fetches;
        let refused_token = [0, 190].contains(code);
        assert_eq!(refetched, usize::from(refused_token), "{code}");
        records.push((format!("meta-error-{code}"), request));
    }

    // Through SQS, every one of them is a record SQS must redeliver; the good one is not.
    records.push(("meta-good".into(), meta_request()));
    let answer = t.invoke(sqs_event(&records)).await.unwrap();
    let mut expected: Vec<String> = CONTRACT
        .iter()
        .map(|(code, ..)| format!("meta-error-{code}"))
        .collect();
    expected.sort();
    assert_eq!(failures(&answer), expected);
    // Each record's log line carries its code and Meta's trace id for support.
    let logs = logs();
    let line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["outcome"] == "TEMPLATE_NOT_FOUND" && l["provider"] == "meta")
        .expect("a log line for the 132001 record");
    assert!(line["provider_details"]
        .as_str()
        .is_some_and(|d| d.contains("fbtrace_id")));
}

#[tokio::test]
async fn an_unknown_code_is_provider_rejected_with_its_number_never_success() {
    // On a 5xx a code Meta does not document is a server error: see
    // `an_unknown_code_on_a_5xx_may_have_been_sent_and_is_transient_only_where_meta_says`.
    for status in [200, 400] {
        let t = TestApp::start().await;
        answer_every_post(
            &t.stubs["meta"],
            ResponseTemplate::new(status).set_body_json(json!({"error": {
                "message": "(#987654) Something new", "type": "OAuthException", "code": 987654,
                "fbtrace_id": "AbC123"}})),
        )
        .await;
        let answer = t.post("/v1/messages", &meta_request()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (422, "PROVIDER_REJECTED"),
            "HTTP {status}"
        );
        assert_eq!(answer.body["error"]["provider_code"], "987654");
        assert_eq!(answer.body["error"]["retryable"], false);
        assert_eq!(
            answer.body["error"]["provider_details"]["fbtrace_id"],
            "AbC123"
        );
    }
    // A 200 without the documented fields is not a send either.
    let t = TestApp::start().await;
    answer_every_post(
        &t.stubs["meta"],
        ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp"})),
    )
    .await;
    let answer = t.post("/v1/messages", &meta_request()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (502, "PROVIDER_UNAVAILABLE")
    );
}

#[tokio::test]
async fn an_unknown_code_on_a_5xx_may_have_been_sent_and_is_transient_only_where_meta_says() {
    let graph_error = |code: i64, transient: bool| {
        json!({"error": {"message": "An unexpected error has occurred. Please retry your request later.",
                         "type": "OAuthException", "is_transient": transient, "code": code,
                         "fbtrace_id": "AbC123"}})
    };
    // Graph's transient code 2 on a 500: maybe sent. Without a key, retryable.
    let t = TestApp::start().await;
    answer_every_post(
        &t.stubs["meta"],
        ResponseTemplate::new(500).set_body_json(graph_error(2, true)),
    )
    .await;
    let answer = t.post("/v1/messages", &meta_request()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (502, "PROVIDER_UNAVAILABLE")
    );
    assert_eq!(
        (
            &answer.body["error"]["provider_code"],
            &answer.body["error"]["retryable"]
        ),
        (&json!("2"), &json!(true))
    );
    assert_eq!(
        answer.body["error"]["provider_details"]["fbtrace_id"],
        "AbC123"
    );
    // Under a key it is final: DELIVERY_UNKNOWN, and the repeat sends nothing.
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", table)],
        ..Options::default()
    })
    .await;
    answer_every_post(
        &t.stubs["meta"],
        ResponseTemplate::new(500).set_body_json(graph_error(2, true)),
    )
    .await;
    let mut keyed = meta_request();
    keyed["idempotency_key"] = json!("meta-code-2");
    let first = t.post("/v1/messages", &keyed).await;
    assert_eq!((first.status, first.code()), (502, "DELIVERY_UNKNOWN"));
    let again = t.post("/v1/messages", &keyed).await;
    assert!(again.replayed() && again.code() == "DELIVERY_UNKNOWN");
    assert_eq!(received(&t.stubs["meta"]).await, 1);
    // On a 400 an unknown code is a refusal, retryable where Meta marks it transient.
    for transient in [true, false] {
        let t = TestApp::start().await;
        answer_every_post(
            &t.stubs["meta"],
            ResponseTemplate::new(400).set_body_json(graph_error(987654, transient)),
        )
        .await;
        let answer = t.post("/v1/messages", &meta_request()).await;
        assert_eq!((answer.status, answer.code()), (422, "PROVIDER_REJECTED"));
        assert_eq!(answer.body["error"]["retryable"], transient);
    }
}

#[tokio::test]
async fn a_pair_rate_limit_is_answered_at_once_with_metas_six_seconds() {
    let t = TestApp::start().await;
    answer_every_post(
        &t.stubs["meta"],
        ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            "type": "OAuthException", "code": 131056, "fbtrace_id": "AbC123"}})),
    )
    .await;
    let answer = t.post("/v1/messages", &meta_request()).await;
    assert_eq!((answer.status, answer.code()), (429, "RATE_LIMITED"));
    let wait: u64 = answer.headers["retry-after"].parse().unwrap();
    assert!(wait >= 6, "Retry-After {wait}");
    assert_eq!(
        received(&t.stubs["meta"]).await,
        1,
        "never retried sooner than Meta advises"
    );
}

#[tokio::test]
async fn error_190_with_a_rotated_token_refetches_once_and_retries_once() {
    let t = TestApp::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(header(
            "authorization",
            format!("Bearer {ROTATED_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta_success()))
        .mount(&t.stubs["meta"])
        .await;
    // Graph answers an expired token with HTTP 400 and code 190: the code decides.
    answer_every_post(&t.stubs["meta"], ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Error validating access token: Session has expired", "type": "OAuthException",
            "code": 190, "error_subcode": 463, "fbtrace_id": "Az8or2"}}))).await;
    // The cached token is refused and the secret has not changed: one refetch, no resend.
    let first = t.post("/v1/messages", &meta_request()).await;
    assert_eq!((first.status, first.code()), (502, "PROVIDER_AUTH_FAILED"));
    assert_eq!(
        (
            received(&t.stubs["meta"]).await,
            t.aws.get_secret_value_calls()
        ),
        (1, 2)
    );

    let mut rotated: Value = serde_json::from_str(&default_secret()).unwrap();
    rotated["meta"]["access_token"] = json!(ROTATED_KEY);
    aws::put_secret(&t.secret_id, &rotated.to_string()).await;
    let second = t.post("/v1/messages", &meta_request()).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(
        (
            received(&t.stubs["meta"]).await,
            t.aws.get_secret_value_calls()
        ),
        (3, 3),
        "one refused try with the cached token, one refetch, one retry with the new token"
    );
    let third = t.post("/v1/messages", &meta_request()).await;
    assert_eq!(third.status, 200);
    assert_eq!(
        (
            received(&t.stubs["meta"]).await,
            t.aws.get_secret_value_calls()
        ),
        (4, 3)
    );
    for request in t.stubs["meta"].received_requests().await.unwrap() {
        let auth = request
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(auth == format!("Bearer {META_TOKEN}") || auth == format!("Bearer {ROTATED_KEY}"));
    }
}

#[tokio::test]
async fn variables_are_positional_or_named_and_a_mix_is_refused() {
    let t = TestApp::start().await;
    let dry = |variables: Value, block: Value| {
        with(
            meta_request(),
            json!({"variables": variables, "meta": block, "dry_run": true}),
        )
    };
    let body = |answer: &HttpAnswer| answer.body["provider_request"]["body"]["template"].clone();
    let positional = json!([{"type": "body", "parameters": [
        {"type": "text", "text": "Ana"}, {"type": "text", "text": "7"}]}]);
    for variables in [json!(["Ana", "7"]), json!({"1": "Ana", "2": "7"})] {
        let answer = t
            .post("/v1/messages", &dry(variables.clone(), json!({})))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(body(&answer)["components"], positional, "{variables}");
    }
    let named = t
        .post(
            "/v1/messages",
            &dry(
                json!({"first_name": "Ana", "order_id": "7"}),
                json!({"language": "pt_BR", "phone_number_id": "222333444555666",
                       "header": {"type": "image", "link": "https://cdn.example/a.png"},
                       "buttons": [{"sub_type": "url", "index": 0, "value": "A12345"},
                                   {"sub_type": "copy_code", "index": 1, "value": "CARIBE25"}]}),
            ),
        )
        .await;
    assert_eq!(named.status, 200, "{:?}", named.body);
    assert!(named.body["provider_request"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/v25.0/222333444555666/messages"));
    assert_eq!(
        body(&named),
        json!({"name": "order_update", "language": {"code": "pt_BR"}, "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.example/a.png"}}]},
            {"type": "body", "parameters": [
                {"type": "text", "parameter_name": "first_name", "text": "Ana"},
                {"type": "text", "parameter_name": "order_id", "text": "7"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A12345"}]},
            {"type": "button", "sub_type": "copy_code", "index": "1",
             "parameters": [{"type": "coupon_code", "coupon_code": "CARIBE25"}]}
        ]})
    );
    // No variables, no header, no buttons: no components at all.
    let bare = t.post("/v1/messages", &dry(json!([]), json!({}))).await;
    assert_eq!(
        body(&bare),
        json!({"name": "order_update", "language": {"code": "en_US"}})
    );

    for (variables, block, field) in [
        (
            json!({"1": "Ana", "first_name": "7"}),
            json!({}),
            "variables.1",
        ),
        (
            json!(["Ana"]),
            json!({"header": {"type": "audio", "link": "https://a/b"}}),
            "meta.header.type",
        ),
        (
            json!(["Ana"]),
            json!({"header": {"type": "image", "link": "http://a/b"}}),
            "meta.header.link",
        ),
        (
            json!(["Ana"]),
            json!({"buttons": [{"sub_type": "flow", "index": 0, "value": "x"}]}),
            "meta.buttons[0].sub_type",
        ),
        (json!(["Ana"]), json!({"languag": "en"}), "meta.languag"),
    ] {
        let answer = t.post("/v1/messages", &dry(variables, block)).await;
        assert_eq!(
            (answer.status, answer.code(), answer.field()),
            (400, "INVALID_REQUEST", Some(field)),
            "{:?}",
            answer.body
        );
    }
    assert_eq!(received(&t.stubs["meta"]).await, 0);
}

#[tokio::test]
async fn media_url_is_refused_for_meta_before_any_secret_is_read() {
    let t = TestApp::start().await;
    let answer = t
        .post(
            "/v1/messages",
            &with(
                meta_request(),
                json!({"media_url": "https://cdn.example/a.png"}),
            ),
        )
        .await;
    assert_eq!(
        (answer.status, answer.code(), answer.field()),
        (400, "INVALID_REQUEST", Some("media_url"))
    );
    assert!(answer.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("meta.header"));
    assert_eq!(
        (
            t.aws.get_secret_value_calls(),
            received(&t.stubs["meta"]).await
        ),
        (0, 0)
    );
}

#[tokio::test]
async fn the_token_values_and_number_never_leave_through_an_answer_or_a_log_line() {
    let t = TestApp::start().await;
    // A hostile error: Meta's text echoes the token, a variable's value and the number.
    answer_every_post(
        &t.stubs["meta"],
        ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": format!("(#100) bad token {META_TOKEN}"), "type": "OAuthException", "code": 100,
            "error_data": {"details": format!("value {SECRET_VARIABLE} for +1 (415) 555-1234 is invalid")},
            "fbtrace_id": "Tr4ce"}})),
    )
    .await;
    let answer = t.post("/v1/messages", &meta_request()).await;
    assert_eq!((answer.status, answer.code()), (422, "PROVIDER_REJECTED"));
    let text = answer.body.to_string();
    assert_nothing_forbidden(&text);
    assert!(text.contains("is invalid"), "{text}");
    // What was sent carried the token as a bearer token, and nothing else did.
    let sent = &t.stubs["meta"].received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Bearer {META_TOKEN}")
    );
    assert_nothing_forbidden(&logs());
}

#[tokio::test]
async fn sends_are_paced_per_sending_number() {
    let t = TestApp::with(Options {
        vars: vec![("META_MAX_RPS", "2".into())],
        ..Options::default()
    })
    .await;
    let arrivals: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let seen = arrivals.clone();
    Mock::given(method("POST"))
        .respond_with(move |request: &Request| {
            seen.lock()
                .unwrap()
                .push((Instant::now(), request.url.path().to_string()));
            ResponseTemplate::new(200).set_body_json(meta_success())
        })
        .mount(&t.stubs["meta"])
        .await;
    let messages: Vec<Value> = (0..8)
        .map(|i| {
            let id = if i % 2 == 0 {
                "111111111111111"
            } else {
                "222222222222222"
            };
            with(meta_request(), json!({"meta": {"phone_number_id": id}}))
        })
        .collect();
    let answer = t
        .post("/v1/messages/batch", &json!({ "messages": messages }))
        .await;
    assert_eq!(answer.status, 200);
    for result in answer.body["results"].as_array().unwrap() {
        assert_eq!(result["http_status"], 200, "{result}");
    }
    let arrivals = arrivals.lock().unwrap().clone();
    let busiest = |number: Option<&str>| {
        let times: Vec<Instant> = arrivals
            .iter()
            .filter(|(_, p)| number.is_none_or(|n| p.contains(n)))
            .map(|(t, _)| *t)
            .collect();
        busiest_second(&times)
    };
    // Each number keeps to its own 2 a second; the two numbers do not wait for each other.
    assert!(busiest(Some("111111111111111")) <= 2);
    assert!(busiest(Some("222222222222222")) <= 2);
    assert!(busiest(None) >= 3, "{arrivals:?}");
}

#[tokio::test]
async fn under_a_key_metas_word_that_it_failed_frees_the_key_and_a_bare_5xx_does_not() {
    setup();
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", table)],
        ..Options::default()
    })
    .await;
    let keyed = |key: &str| with(meta_request(), json!({"idempotency_key": key}));
    // 131000 "Message failed to send": not sent, so the same key may send again.
    let failed = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
            "message": "(#131000) Something went wrong", "code": 131000, "fbtrace_id": "T1"}})))
        .up_to_n_times(1)
        .mount_as_scoped(&t.stubs["meta"])
        .await;
    let first = t.post("/v1/messages", &keyed("meta-order-1")).await;
    assert_eq!((first.status, first.code()), (502, "PROVIDER_UNAVAILABLE"));
    assert_eq!(first.body["error"]["retryable"], true);
    drop(failed);
    accepts(&t.stubs["meta"], "meta").await;
    let retry = t.post("/v1/messages", &keyed("meta-order-1")).await;
    assert_eq!(
        (retry.status, retry.replayed()),
        (200, false),
        "{:?}",
        retry.body
    );
    assert_eq!(received(&t.stubs["meta"]).await, 2);

    // A 5xx without Meta's error document may come after Meta acted: final for the key.
    t.stubs["meta"].reset().await;
    answer_every_post(
        &t.stubs["meta"],
        ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
    )
    .await;
    let unknown = t.post("/v1/messages", &keyed("meta-order-2")).await;
    assert_eq!((unknown.status, unknown.code()), (502, "DELIVERY_UNKNOWN"));
    let again = t.post("/v1/messages", &keyed("meta-order-2")).await;
    assert_eq!((again.code(), again.replayed()), ("DELIVERY_UNKNOWN", true));
    assert_eq!(received(&t.stubs["meta"]).await, 1);
}

#[tokio::test]
async fn a_misbehaving_graph_api_redirects_nothing_panics_nothing_and_resets_are_final() {
    setup();
    let table = create_idempotency_table().await;
    let keyed = |key: &str| with(meta_request(), json!({"idempotency_key": key}));
    // A redirect to another host: not followed, nothing sent there, the key stays free.
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", table.clone())],
        ..Options::default()
    })
    .await;
    let elsewhere = wiremock::MockServer::start().await;
    accepts(&elsewhere, "meta").await;
    let redirect = ResponseTemplate::new(307)
        .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str());
    let moved = Mock::given(method("POST"))
        .respond_with(redirect)
        .mount_as_scoped(&t.stubs["meta"])
        .await;
    let answer = t.post("/v1/messages", &keyed("meta-redirected")).await;
    assert_eq!(
        (answer.status, answer.code()),
        (502, "PROVIDER_UNAVAILABLE")
    );
    assert_eq!(received(&elsewhere).await, 0);
    drop(moved);
    // Meta's throttling code with an absurd Retry-After: no wait past the deadline, no panic,
    // a bounded Retry-After.
    let throttled = Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("retry-after", "10000000000000000000")
                .set_body_json(
                    json!({"error": {"message": "(#130429) Rate limit hit", "code": 130429}}),
                ),
        )
        .mount_as_scoped(&t.stubs["meta"])
        .await;
    let answer = t.post("/v1/messages", &keyed("meta-throttled")).await;
    assert_eq!((answer.status, answer.code()), (429, "RATE_LIMITED"));
    assert_eq!(
        answer.headers.get("retry-after").map(String::as_str),
        Some("3600")
    );
    drop(throttled);
    accepts(&t.stubs["meta"], "meta").await;
    let sent = t.post("/v1/messages", &keyed("meta-redirected")).await;
    assert_eq!(
        (sent.status, sent.replayed()),
        (200, false),
        "the 3xx sent nothing"
    );

    // A reset after the whole request was read: maybe sent, so final for the key.
    let resetting = ResettingProvider::start().await;
    let t = TestApp::with(Options {
        vars: vec![
            ("IDEMPOTENCY_TABLE", table),
            ("META_BASE_URL", format!("{}/v25.0", resetting.url)),
        ],
        ..Options::default()
    })
    .await;
    let first = t.post("/v1/messages", &keyed("meta-reset")).await;
    assert_eq!((first.status, first.code()), (502, "DELIVERY_UNKNOWN"));
    let again = t.post("/v1/messages", &keyed("meta-reset")).await;
    assert_eq!((again.code(), again.replayed()), ("DELIVERY_UNKNOWN", true));
    assert_eq!(resetting.requests(), 1);
}
