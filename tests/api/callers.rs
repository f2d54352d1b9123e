//! Only whom the deployment allows can send, and every send names who asked
//! (docs/api.md, "Callers"): the request line's `caller` for each source, keys
//! scoped per caller, records that hold nothing personal, strict paths, base URLs without
//! credentials, and provider echoes cut out in any form.

use crate::support::aws::{create_idempotency_table, dynamodb};
use crate::support::function::Launch;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::{MockServer, ResponseTemplate};

const ROLE_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/orders-app/i-0abc";
const OTHER_ROLE: &str = "arn:aws:sts::123456789012:assumed-role/billing-app/i-0def";

fn request_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "request finished")
        .collect()
}

#[tokio::test]
async fn each_sources_request_line_names_its_caller() {
    setup();
    let (bitbybit, autocalls) = (MockServer::start().await, MockServer::start().await);
    accepts(&autocalls, "autocalls").await;
    accepts(&bitbybit, "bitbybit").await;
    let function = Launch::new().providers(&bitbybit, &autocalls).start().await;
    let send = || {
        http_v2(
            "POST",
            "/v1/messages",
            Some(autocalls_request().to_string()),
            &[],
        )
    };
    let time = Duration::from_secs(10);
    function
        .invoke(as_iam(send(), ROLE_SESSION), time)
        .await
        .unwrap();
    function
        .invoke(as_jwt(send(), "user-42", "app-7"), time)
        .await
        .unwrap();
    let mut sqs = fixture("sqs-batch.json");
    sqs["Records"] = json!([sqs["Records"][0].clone()]);
    function.invoke(sqs.clone(), time).await.unwrap();
    function
        .invoke(fixture("eventbridge.json"), time)
        .await
        .unwrap();
    let lines = request_lines(&function.output());
    let callers: Vec<&str> = lines
        .iter()
        .map(|l| l["caller"].as_str().unwrap_or(""))
        .collect();
    let queue = sqs["Records"][0]["eventSourceARN"].as_str().unwrap();
    let event = fixture("eventbridge.json");
    let bus_caller = format!(
        "{}/{}",
        event["account"].as_str().unwrap(),
        event["source"].as_str().unwrap()
    );
    assert_eq!(
        callers,
        [
            ROLE_SESSION,
            "jwt sub=user-42 client_id=app-7",
            queue,
            bus_caller.as_str()
        ],
        "{lines:#?}"
    );
}

#[tokio::test]
async fn two_callers_with_one_key_and_body_each_send_and_never_see_the_others_answer() {
    setup();
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", create_idempotency_table().await)],
        ..Options::default()
    })
    .await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    let mut body = autocalls_request();
    body["idempotency_key"] = json!("shared-key");
    let event = || http_v2("POST", "/v1/messages", Some(body.to_string()), &[]);
    let a = t.http(as_iam(event(), ROLE_SESSION)).await;
    let b = t.http(as_iam(event(), OTHER_ROLE)).await;
    assert!(!a.replayed() && !b.replayed(), "{:?} {:?}", a.body, b.body);
    // The same role from another session (another instance of the same application) is
    // the same caller: a replay.
    let again = t
        .http(as_iam(
            event(),
            "arn:aws:sts::123456789012:assumed-role/orders-app/i-0zzz",
        ))
        .await;
    assert!(again.replayed());
    let jwt = t.http(as_jwt(event(), "user-42", "app-7")).await;
    assert!(!jwt.replayed());
    assert_eq!(received(&t.stubs["autocalls"]).await, 3);
}

#[tokio::test]
async fn a_record_holds_no_number_and_no_value_and_its_fingerprint_is_keyed() {
    setup();
    let mut fingerprints = vec![];
    for key in [
        FINGERPRINT_KEY,
        "another-fingerprint-KEY-of-at-least-32-characters",
    ] {
        let table = create_idempotency_table().await;
        let mut secret: Value = serde_json::from_str(&default_secret()).unwrap();
        secret["wa-dispatch"]["fingerprint_key"] = json!(key);
        let t = TestApp::with(Options {
            vars: vec![("IDEMPOTENCY_TABLE", table.clone())],
            secret: Some(secret.to_string()),
            ..Options::default()
        })
        .await;
        accepts(&t.stubs["autocalls"], "autocalls").await;
        let otp = json!({"provider": "autocalls", "to": "+6281234567890", "template": 45,
                         "variables": ["483920"], "idempotency_key": "otp-1"});
        assert_eq!(t.post("/v1/messages", &otp).await.status, 200);
        let items = dynamodb()
            .await
            .scan()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        let items = items.items();
        assert_eq!(items.len(), 1);
        let text = format!("{:?}", items[0]);
        for personal in ["6281234567890", "81234567890", "483920", "otp-1"] {
            assert!(
                !text.contains(personal),
                "the record holds {personal}: {text}"
            );
        }
        fingerprints.push(items[0]["fingerprint"].as_s().unwrap().clone());
    }
    assert_ne!(
        fingerprints[0], fingerprints[1],
        "the fingerprint depends on the key"
    );
}

#[tokio::test]
async fn paths_spelled_otherwise_and_lower_case_methods_are_not_routes() {
    let t = TestApp::start().await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    let batch = json!({"messages": [autocalls_request()]}).to_string();
    for path in [
        "/x/v1/messages/batch",
        "//v1/messages/batch",
        "/v1/messages/batch//",
        "/v1/messages/batch/",
    ] {
        let answer = t
            .http(http_v2("POST", path, Some(batch.clone()), &[]))
            .await;
        assert_eq!((answer.status, answer.code()), (404, "NOT_FOUND"), "{path}");
    }
    let lower = t
        .http(http_v2(
            "post",
            "/v1/messages/batch",
            Some(batch.clone()),
            &[],
        ))
        .await;
    assert!(matches!(lower.status, 404 | 405), "{}", lower.status);
    // The request's own stage still routes (the v2 fixture's stage is `prod`).
    let staged = t
        .http(http_v2("POST", "/prod/v1/messages/batch", Some(batch), &[]))
        .await;
    assert_eq!(staged.status, 200, "{:?}", staged.body);
    assert_eq!(received(&t.stubs["autocalls"]).await, 1);
}

#[test]
fn a_base_url_with_credentials_stops_the_function_without_printing_them() {
    for url in [
        "https://svc:pa55@host/x",
        "https://svc@host/x",
        "https://host/x#frag",
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_wa-dispatch"))
            .env_clear()
            .env("PROVIDER_SECRET_ID", "wa/providers")
            .env("AUTOCALLS_BASE_URL", url)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(2), "{url}: {stderr}");
        assert!(stderr.contains("AUTOCALLS_BASE_URL"), "{stderr}");
        assert!(!stderr.contains("pa55") && !stdout.contains("pa55"));
    }
}

#[tokio::test]
async fn an_echo_in_any_form_reaches_no_answer_log_or_record() {
    setup();
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![("IDEMPOTENCY_TABLE", table.clone())],
        ..Options::default()
    })
    .await;
    // The provider echoes the variable trimmed and upper-cased, the name lower-cased, and
    // the number with non-breaking hyphens and full-width digits.
    let echo = format!(
        "template rejected for {} and {} at +１\u{2011}415\u{2011}555\u{2011}１２３４",
        SECRET_VARIABLE.trim().to_uppercase(),
        "john doe"
    );
    let refusal = json!({"success": false, "error": echo, "error_code": "UNKNOWN_ERROR"});
    answer_every_post(
        &t.stubs["autocalls"],
        ResponseTemplate::new(422).set_body_json(refusal),
    )
    .await;
    let mut body = autocalls_request();
    body["variables"] = json!([format!("  {SECRET_VARIABLE} "), "x"]);
    body["idempotency_key"] = json!("echo-1");
    let answer = t.post("/v1/messages", &body).await;
    assert_eq!(answer.code(), "PROVIDER_REJECTED");
    let message = answer.body["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    let upper = SECRET_VARIABLE.to_uppercase();
    for leaked in [
        upper.as_str(),
        "john doe",
        "415\u{2011}555",
        "１２３４\u{2011}",
        "555",
    ] {
        assert!(!message.contains(leaked), "{leaked:?} in {message}");
    }
    assert!(!logs().to_uppercase().contains(&upper));
    // Nothing was sent, so nothing is kept either.
    let items = dynamodb()
        .await
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert!(items.items().is_empty());
}
