//! Delivery statuses end to end (docs/statuses.md): the providers' own example payloads,
//! signed, posted through every HTTP origin (REST, HTTP API, function URL; base64 bodies
//! too); the events read back from moto's EventBridge through a rule with an SQS target;
//! the status table in moto's DynamoDB.

use crate::support::aws::{create_idempotency_table, create_status_bus, published};
use crate::support::faulty_aws::{Fault, FaultyAws};
use crate::support::*;
use base64::Engine;
use serde_json::{json, Value};
use wiremock::ResponseTemplate;

const APP_SECRET: &str = "meta-APP-SECRET-must-never-be-logged";
const WEBHOOK_TOKEN: &str = "autocalls-WEBHOOK-token-must-never-be-logged";
/// What the example payloads hold that must never leave: the recipients' numbers and an
/// incoming message's text and name.
const PERSONAL: &[&str] = &[
    "16505551234",
    "6505551234",
    "16505555678",
    "another color",
    "Sheena Nelson",
];

fn payload(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/events/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .trim_end()
    .to_string()
}

fn sign(body: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, APP_SECRET.as_bytes());
    format!(
        "sha256={}",
        hex::encode(aws_lc_rs::hmac::sign(&key, body.as_bytes()).as_ref())
    )
}

fn secret() -> String {
    let mut secret: Value = serde_json::from_str(&default_secret()).unwrap();
    secret["meta"]["app_secret"] = json!(APP_SECRET);
    secret["meta"]["verify_token"] = json!("verify-me");
    secret["autocalls"]["webhook_token"] = json!(WEBHOOK_TOKEN);
    secret.to_string()
}

/// An App with a status bus (and a status table when asked), and the bus's queue.
async fn app(table: bool) -> (TestApp, String) {
    let (t, queue, _) = app_with_table(table).await;
    (t, queue)
}

async fn app_with_table(table: bool) -> (TestApp, String, Option<String>) {
    setup();
    let (bus, queue) = create_status_bus().await;
    let mut vars = vec![("STATUS_EVENT_BUS", bus)];
    let name = match table {
        true => Some(create_idempotency_table().await),
        false => None,
    };
    if let Some(name) = &name {
        vars.push(("STATUS_TABLE", name.clone()));
    }
    let t = TestApp::with(Options {
        vars,
        secret: Some(secret()),
        ..Options::default()
    })
    .await;
    (t, queue, name)
}

/// A POST of `body` to the meta webhook as an HTTP API v2 event.
fn meta_post(body: &str, signature: Option<&str>) -> Value {
    let mut headers = vec![];
    if let Some(signature) = signature {
        headers.push(("X-Hub-Signature-256", signature));
    }
    http_v2(
        "POST",
        "/v1/webhooks/meta",
        Some(body.to_string()),
        &headers,
    )
}

/// The same POST as a REST API (v1) event, a function URL event with a base64 body, and an
/// HTTP API event with a base64 body.
fn every_origin(body: &str) -> Vec<(&'static str, Value)> {
    let signature = sign(body);
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    let mut rest = fixture("rest-api-v1.json");
    rest["path"] = json!("/v1/webhooks/meta");
    rest["resource"] = json!("/v1/webhooks/{provider}");
    rest["requestContext"]["path"] = json!("/prod/v1/webhooks/meta");
    rest["headers"] = json!({"Content-Type": "application/json", "X-Hub-Signature-256": signature});
    rest["multiValueHeaders"] =
        json!({"Content-Type": ["application/json"], "X-Hub-Signature-256": [signature]});
    rest["body"] = json!(body);
    let mut url = fixture("function-url.json");
    url["rawPath"] = json!("/v1/webhooks/meta");
    url["requestContext"]["http"]["path"] = json!("/v1/webhooks/meta");
    url["headers"]["x-hub-signature-256"] = json!(signature);
    url["body"] = json!(encoded);
    url["isBase64Encoded"] = json!(true);
    let mut v2 = meta_post(body, Some(&signature));
    v2["body"] = json!(encoded);
    v2["isBase64Encoded"] = json!(true);
    vec![
        ("rest", rest),
        ("function url", url),
        ("http api, base64", v2),
    ]
}

fn assert_nothing_personal(text: &str) {
    for word in PERSONAL.iter().chain([APP_SECRET, WEBHOOK_TOKEN].iter()) {
        assert!(!text.contains(word), "{word:?} leaked: {text}");
    }
}

#[tokio::test]
async fn metas_example_payloads_give_the_events_of_their_statuses_from_every_origin() {
    let (t, queue) = app(false).await;
    let mut events = vec![];
    for name in [
        "meta-sent.json",
        "meta-delivered.json",
        "meta-read.json",
        "meta-failed.json",
    ] {
        for (origin, event) in every_origin(&payload(name)) {
            let answer = t.http(event).await;
            assert_eq!(
                (answer.status, &answer.body["published"]),
                (200, &json!(1)),
                "{name} {origin}: {:?}",
                answer.body
            );
        }
        events.extend(published(&queue, 3).await);
    }
    assert_eq!(events.len(), 12);
    for event in &events {
        assert_eq!(
            (event["source"].as_str(), event["detail-type"].as_str()),
            (Some("wa-dispatch.status"), Some("WhatsApp message status"))
        );
    }
    let details: Vec<&Value> = events.iter().map(|e| &e["detail"]).collect();
    let words: Vec<&str> = details
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        [
            "sent",
            "sent",
            "sent",
            "delivered",
            "delivered",
            "delivered",
            "read",
            "read",
            "read",
            "failed",
            "failed",
            "failed"
        ]
    );
    let sent = details[0];
    assert_eq!(sent["provider"], "meta");
    assert_eq!(
        sent["message_id"],
        "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QjFBMjQ0QzdGRjA2ODNCOEUA"
    );
    assert_eq!(sent["provider_status"], "sent");
    assert_eq!(sent["occurred_at"], "2025-11-30T10:04:05Z");
    assert_eq!(sent["to"], "+1******1234");
    assert_eq!(sent["client_reference"], "order-8812");
    assert_eq!(
        sent["pricing"],
        json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "utility"})
    );
    assert_eq!(sent["error"], Value::Null);
    assert!(sent["received_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        details[0]["event_id"], details[1]["event_id"],
        "the same status, the same id"
    );
    assert_eq!(
        details[9]["error"],
        json!({"code": "PROVIDER_REJECTED", "message": "Message Undeliverable.", "provider_code": "131026", "retryable": false})
    );
    assert_nothing_personal(&serde_json::to_string(&events).unwrap());
    assert_nothing_personal(&logs());
}

#[tokio::test]
async fn a_missing_wrong_or_reserialised_signature_is_401_publishes_nothing_and_is_counted() {
    let (t, queue) = app(false).await;
    let body = payload("meta-failed.json");
    let reserialised = serde_json::from_str::<Value>(&body).unwrap().to_string();
    assert_ne!(reserialised, body);
    for event in [
        meta_post(&body, None),
        meta_post(&body, Some("sha256=deadbeef")),
        meta_post(&reserialised, Some(&sign(&body))),
    ] {
        let answer = t.http(event).await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, "WEBHOOK_UNAUTHORIZED"),
            "{:?}",
            answer.body
        );
    }
    assert!(published(&queue, 0).await.is_empty());
    let metrics = t.metrics.lock().unwrap().join("\n");
    assert_eq!(metrics.matches("\"WebhookRejected\":1").count(), 3);
    let signature = sign(&body);
    let digest = signature.trim_start_matches("sha256=");
    let logged = logs();
    assert!(
        !logged.contains(digest) && !logged.contains("Message Undeliverable"),
        "neither proof nor body is logged"
    );
}

#[tokio::test]
async fn the_handshake_answers_the_challenge_for_our_token_only() {
    let (t, _) = app(false).await;
    let handshake = |query: &str| {
        let mut event = http_v2("GET", "/v1/webhooks/meta", None, &[]);
        event["rawQueryString"] = json!(query);
        let pairs: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        event["queryStringParameters"] = Value::Object(pairs);
        event
    };
    let ok = t
        .invoke(handshake(
            "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
        ))
        .await
        .unwrap();
    assert_eq!(
        (ok["statusCode"].as_u64(), ok["body"].as_str()),
        (Some(200), Some("1158201444"))
    );
    assert!(ok["headers"]["content-type"]
        .as_str()
        .unwrap()
        .starts_with("text/plain"));
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=subscribe&hub.challenge=1",
        "",
    ] {
        let refused = t.invoke(handshake(query)).await.unwrap();
        assert_eq!(refused["statusCode"], 403, "{query}");
    }
}

fn forty_statuses() -> String {
    let entry = |e: usize| {
        let statuses: Vec<Value> = (0..[14, 13, 13][e])
            .map(|s| json!({"id": format!("wamid.BATCH{e}-{s}"), "status": "delivered", "timestamp": "1764497047", "recipient_id": "16505551234"}))
            .collect();
        json!({"id": "102290129340398", "changes": [{"value": {"messaging_product": "whatsapp", "statuses": statuses}, "field": "messages"}]})
    };
    json!({"object": "whatsapp_business_account", "entry": [entry(0), entry(1), entry(2)]})
        .to_string()
}

#[tokio::test]
async fn forty_statuses_are_forty_events_and_a_bus_that_refuses_is_503() {
    setup();
    let faulty = FaultyAws::start().await;
    let (bus, queue) = create_status_bus().await;
    let t = TestApp::with(Options {
        vars: vec![("STATUS_EVENT_BUS", bus)],
        secret: Some(secret()),
        aws_endpoint: Some(faulty.url.clone()),
    })
    .await;
    let body = forty_statuses();
    let answer = t.http(meta_post(&body, Some(&sign(&body)))).await;
    assert_eq!(
        (answer.status, &answer.body["published"]),
        (200, &json!(40)),
        "{:?}",
        answer.body
    );
    assert_eq!(published(&queue, 40).await.len(), 40);
    let received: Vec<Value> = t
        .metrics
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l.get("StatusReceived").is_some())
        .collect();
    assert_eq!(
        received.len(),
        1,
        "one line for forty `delivered`: {received:?}"
    );
    assert_eq!(
        (
            &received[0]["StatusReceived"],
            &received[0]["status"],
            &received[0]["provider"]
        ),
        (&json!(40), &json!("delivered"), &json!("meta"))
    );
    let puts = faulty.entries_per_call("AWSEvents.PutEvents");
    assert!(
        puts.len() >= 4 && puts.iter().all(|n| *n <= 10),
        "{puts:?} {:?}",
        faulty.targets()
    );
    // The bus refuses every call: 503, and the provider delivers the webhook again.
    faulty.fail_target("AWSEvents.PutEvents", Fault::Throttle, 1000);
    let refused = t.http(meta_post(&body, Some(&sign(&body)))).await;
    assert_eq!(
        (refused.status, refused.code()),
        (503, "STATUS_UNAVAILABLE"),
        "{:?}",
        refused.body
    );
    assert_eq!(refused.body["error"]["retryable"], true);
}

#[tokio::test]
async fn with_the_table_a_send_then_its_statuses_out_of_order_and_repeated_publish_forward_moves_only(
) {
    let (t, queue, table) = app_with_table(true).await;
    let success = json!({"messaging_product": "whatsapp", "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
                         "messages": [{"id": "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QjFBMjQ0QzdGRjA2ODNCOEUA", "message_status": "accepted"}]});
    answer_every_post(
        &t.stubs["meta"],
        ResponseTemplate::new(200).set_body_json(success),
    )
    .await;
    let mut send = meta_request();
    send["to"] = json!("+1 650 555 1234");
    send["client_reference"] = json!("order-from-the-send");
    assert_eq!(t.post("/v1/messages", &send).await.status, 200);
    for name in [
        "meta-delivered.json",
        "meta-sent.json",
        "meta-read.json",
        "meta-delivered.json",
        "meta-read.json",
    ] {
        let body = payload(name);
        let answer = t.http(meta_post(&body, Some(&sign(&body)))).await;
        assert_eq!(answer.status, 200, "{name}: {:?}", answer.body);
    }
    let events = published(&queue, 2).await;
    let words: Vec<&str> = events
        .iter()
        .map(|e| e["detail"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        ["delivered", "read"],
        "sent came late; the repeats are duplicates"
    );
    assert!(events
        .iter()
        .all(|e| e["detail"]["client_reference"] == "order-from-the-send"));
    let status = t
        .http(http_v2(
            "GET",
            "/v1/messages/meta/wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QjFBMjQ0QzdGRjA2ODNCOEUA",
            None,
            &[],
        ))
        .await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(status.body["status"], "read");
    assert_eq!(status.body["client_reference"], "order-from-the-send");
    assert_eq!(status.body["request_id"], "lambda-req-1");
    let history: Vec<&str> = status.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["delivered", "read"]);
    assert_eq!(
        t.http(http_v2("GET", "/v1/messages/meta/wamid.unknown", None, &[]))
            .await
            .status,
        404
    );
    let records = crate::support::aws::dynamodb()
        .await
        .scan()
        .table_name(table.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(records.items().len(), 1);
    assert_nothing_personal(&format!("{status:?} {events:?} {:?}", records.items()));
    // Past its expiry and not yet deleted by DynamoDB's TTL (which takes up to days), the
    // record is gone all the same.
    let id = records.items()[0]["id"].clone();
    crate::support::aws::dynamodb()
        .await
        .update_item()
        .table_name(table.as_deref().unwrap())
        .key("id", id)
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::N("1700000000".into()),
        )
        .send()
        .await
        .unwrap();
    let expired = t
        .http(http_v2(
            "GET",
            "/v1/messages/meta/wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QjFBMjQ0QzdGRjA2ODNCOEUA",
            None,
            &[],
        ))
        .await;
    assert_eq!(expired.status, 404, "{:?}", expired.body);
    // Without the table every status is published, each repeat with the same event_id.
    let (open, open_queue) = app(false).await;
    for _ in 0..2 {
        let body = payload("meta-sent.json");
        open.http(meta_post(&body, Some(&sign(&body)))).await;
    }
    let events = published(&open_queue, 2).await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0]["detail"]["event_id"],
        events[1]["detail"]["event_id"]
    );
    assert_eq!(
        open.http(http_v2("GET", "/v1/messages/meta/x", None, &[]))
            .await
            .status,
        404,
        "no table, no status route"
    );
}

#[tokio::test]
async fn autocalls_documented_payload_with_its_token_is_a_failed_event_and_without_is_401() {
    let (t, queue) = app(false).await;
    let body = payload("autocalls-undelivered.json");
    let post = |query: &str| {
        let mut event = http_v2("POST", "/v1/webhooks/autocalls", Some(body.clone()), &[]);
        event["rawQueryString"] = json!(query);
        if let Some(token) = query.strip_prefix("token=") {
            event["queryStringParameters"] = json!({"token": token});
        }
        event
    };
    let answer = t.http(post(&format!("token={WEBHOOK_TOKEN}"))).await;
    assert_eq!(
        (answer.status, &answer.body["published"]),
        (200, &json!(1)),
        "{:?}",
        answer.body
    );
    let events = published(&queue, 1).await;
    assert_eq!(
        (
            events[0]["detail"]["status"].as_str(),
            events[0]["detail"]["provider_status"].as_str()
        ),
        (Some("failed"), Some("undelivered"))
    );
    assert_eq!(events[0]["detail"]["to"], "+1******1234");
    for query in ["", "token=wrong"] {
        assert_eq!(t.http(post(query)).await.code(), "WEBHOOK_UNAUTHORIZED");
    }
    // bitbybit documents no status payload we could read: no webhook.
    assert_eq!(
        t.http(http_v2(
            "POST",
            "/v1/webhooks/bitbybit",
            Some("{}".into()),
            &[]
        ))
        .await
        .status,
        404
    );
    assert_nothing_personal(&format!("{events:?}"));
}

#[tokio::test]
async fn an_incoming_message_and_an_unreadable_body_are_answered_200_and_publish_nothing() {
    let (t, queue) = app(false).await;
    let incoming = payload("meta-incoming.json");
    let answer = t.http(meta_post(&incoming, Some(&sign(&incoming)))).await;
    assert_eq!((answer.status, &answer.body["published"]), (200, &json!(0)));
    let odd = r#"{"object":"whatsapp_business_account","entry":"not a list"}"#;
    let answer = t.http(meta_post(odd, Some(&sign(odd)))).await;
    assert_eq!(
        (answer.status, &answer.body["unreadable"]),
        (200, &json!(1))
    );
    assert!(t
        .metrics
        .lock()
        .unwrap()
        .join("\n")
        .contains("\"StatusUnreadable\":1"));
    assert!(published(&queue, 0).await.is_empty());
    assert_nothing_personal(&logs());
}

/// The status route answers only the caller who sent the message (the scope of its keys),
/// and a record that a status started without a send is nobody's (docs/statuses.md).
#[tokio::test]
async fn the_status_route_answers_only_the_caller_who_sent_the_message() {
    let (t, _) = app(true).await;
    let role = "arn:aws:sts::123456789012:assumed-role/orders-app/i-0abc";
    let other_role = "arn:aws:sts::123456789012:assumed-role/billing-app/i-0def";
    let sent_by = |id: &str| {
        let mut success = meta_success();
        success["messages"][0]["id"] = json!(id);
        ResponseTemplate::new(200).set_body_json(success)
    };
    let get = |id: &str| http_v2("GET", &format!("/v1/messages/meta/{id}"), None, &[]);
    let send = || {
        http_v2(
            "POST",
            "/v1/messages",
            Some(meta_request().to_string()),
            &[],
        )
    };
    // Sent by an IAM role: only that role reads it (another session of it too).
    t.stubs["meta"].reset().await;
    answer_every_post(&t.stubs["meta"], sent_by("wamid.BY-IAM")).await;
    assert_eq!(t.http(as_iam(send(), role)).await.status, 200);
    let mine = t.http(as_iam(get("wamid.BY-IAM"), role)).await;
    assert_eq!(mine.status, 200, "{:?}", mine.body);
    assert_eq!(mine.body["message_id"], "wamid.BY-IAM");
    let session = "arn:aws:sts::123456789012:assumed-role/orders-app/i-0fff";
    assert_eq!(
        t.http(as_iam(get("wamid.BY-IAM"), session)).await.status,
        200
    );
    for stranger in [
        as_iam(get("wamid.BY-IAM"), other_role),
        as_jwt(get("wamid.BY-IAM"), "user-42", "app-7"),
        get("wamid.BY-IAM"),
    ] {
        let answer = t.http(stranger).await;
        assert_eq!((answer.status, answer.code()), (404, "NOT_FOUND"));
    }
    // Sent with a JWT: only that subject and client.
    t.stubs["meta"].reset().await;
    answer_every_post(&t.stubs["meta"], sent_by("wamid.BY-JWT")).await;
    assert_eq!(t.http(as_jwt(send(), "user-42", "app-7")).await.status, 200);
    assert_eq!(
        t.http(as_jwt(get("wamid.BY-JWT"), "user-42", "app-7"))
            .await
            .status,
        200
    );
    for stranger in [
        as_jwt(get("wamid.BY-JWT"), "user-43", "app-7"),
        as_jwt(get("wamid.BY-JWT"), "user-42", "app-8"),
        as_iam(get("wamid.BY-JWT"), role),
    ] {
        assert_eq!(t.http(stranger).await.status, 404);
    }
    // A status without a send starts a record that no caller reads.
    let body = payload("meta-delivered.json");
    assert_eq!(
        t.http(meta_post(&body, Some(&sign(&body)))).await.status,
        200
    );
    let unsent = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QjFBMjQ0QzdGRjA2ODNCOEUA";
    assert_eq!(t.http(get(unsent)).await.status, 404);
}

/// On DynamoDB (moto): 25 status words leave a history of 20, the first and the latest; a
/// 10 KB `recipient_id` is stored masked and short.
#[tokio::test]
async fn the_status_table_keeps_bounded_records_and_no_stale_status() {
    let (t, _, table) = app_with_table(true).await;
    let table = table.unwrap();
    let now = wa_dispatch::infra::epoch_secs();
    let post = |id: &str, word: &str, at: u64, recipient: &str| {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "statuses": [{"id": id, "status": word, "timestamp": at.to_string(),
                          "recipient_id": recipient}]}}]}]})
        .to_string();
        meta_post(&body, Some(&sign(&body)))
    };
    for i in 0..25 {
        let answer = t
            .http(post("wamid.W", &format!("word{i}"), now + i, "16505551234"))
            .await;
        assert_eq!(answer.body["published"], 1, "{:?}", answer.body);
    }
    let long = "1".repeat(10_000);
    assert_eq!(
        t.http(post("wamid.L", "sent", now, &long)).await.status,
        200
    );
    let items = crate::support::aws::dynamodb()
        .await
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items()
        .to_vec();
    let item = |id: &str| {
        items
            .iter()
            .find(|i| i["message_id"].as_s().ok().map(String::as_str) == Some(id))
            .unwrap()
            .clone()
    };
    let history = item("wamid.W")["history"].as_l().unwrap().clone();
    let word = |i: usize| {
        history[i].as_m().unwrap()["provider_status"]
            .as_s()
            .unwrap()
            .clone()
    };
    assert_eq!(history.len(), 20);
    assert_eq!(
        (word(0), word(19)),
        ("word0".to_string(), "word24".to_string())
    );
    let to = item("wamid.L")["to"].as_s().unwrap().clone();
    assert!(to.len() <= 16, "{to}");
    assert!(
        format!("{items:?}").len() < 40_000,
        "no item holds the 10 KB id"
    );
}

/// The webhook function reads `WEBHOOK_SECRET_ID`, the webhook fields alone, and no provider
/// secret: its webhooks are verified with it, and it cannot send.
#[tokio::test]
async fn webhooks_read_the_webhook_secret_alone_and_such_a_function_cannot_send() {
    setup();
    let (bus, queue) = create_status_bus().await;
    let webhook_secret = format!("wa/webhooks-{}", std::process::id());
    let fields = json!({"meta": {"app_secret": APP_SECRET, "verify_token": "verify-me"},
                        "autocalls": {"webhook_token": WEBHOOK_TOKEN}});
    crate::support::aws::put_secret(&webhook_secret, &fields.to_string()).await;
    // The provider secret holds no webhook field: only the webhook secret can verify.
    let t = TestApp::with(Options {
        vars: vec![
            ("STATUS_EVENT_BUS", bus),
            ("WEBHOOK_SECRET_ID", webhook_secret.clone()),
            ("PROVIDER_SECRET_ID", String::new()),
        ],
        ..Options::default()
    })
    .await;
    let body = payload("meta-sent.json");
    let answer = t.http(meta_post(&body, Some(&sign(&body)))).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(published(&queue, 1).await.len(), 1);
    let refused = t.http(meta_post(&body, Some("sha256=00"))).await;
    assert_eq!(refused.status, 401);
    let send = t.post("/v1/messages", &meta_request()).await;
    assert_eq!((send.status, send.code()), (500, "CONFIGURATION_ERROR"));
    assert_eq!(received(&t.stubs["meta"]).await, 0, "nothing sent");
}

/// Meta's template notifications on moto's EventBridge: a signed status update and a category
/// update publish one `WhatsApp template status` event each; their repeats publish nothing.
#[tokio::test]
async fn template_notifications_are_one_event_each_and_a_repeat_is_none() {
    let (t, queue) = app(true).await;
    let approved = json!({"entry": [{"id": "102290129340398", "time": 1751247548, "changes": [{
        "value": {"event": "PAUSED", "message_template_id": 1689556908129832_u64,
                  "message_template_name": "order_confirmation", "message_template_language": "en-US",
                  "reason": "NONE", "message_template_category": "UTILITY"},
        "field": "message_template_status_update"}]}], "object": "whatsapp_business_account"})
    .to_string();
    let category = json!({"entry": [{"id": "102290129340398", "time": 1746169200, "changes": [{
        "field": "template_category_update",
        "value": {"message_template_id": 278077987957091_u64, "message_template_name": "welcome_template",
                  "message_template_language": "en-US", "previous_category": "UTILITY",
                  "new_category": "MARKETING"}}]}], "object": "whatsapp_business_account"})
    .to_string();
    for body in [&approved, &category, &approved, &category] {
        let answer = t.http(meta_post(body, Some(&sign(body)))).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    let events = published(&queue, 2).await;
    assert_eq!(events.len(), 2, "{events:?}");
    for event in &events {
        assert_eq!(event["source"], "wa-dispatch.template");
        assert_eq!(event["detail-type"], "WhatsApp template status");
    }
    assert_eq!(events[0]["detail"]["status"], "PAUSED");
    assert_eq!(events[0]["detail"]["template"], "order_confirmation");
    assert_eq!(events[1]["detail"]["category"], "MARKETING");
    assert_eq!(events[1]["detail"]["previous_category"], "UTILITY");
}
