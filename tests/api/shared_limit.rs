//! One limit for every instance (docs/configuration.md, "Rate limits"): several instances of
//! the built binary share each provider's limit through `RATE_LIMIT_TABLE` on moto's
//! DynamoDB, draining one queue or taking HTTP sends at once, against a provider stand-in
//! that throttles past its limit in any sliding second, as Meta (130429) and autocalls
//! (429) do. The share of the limit reached is a benchmark figure (`bench/run.sh --only
//! scale`), not asserted here.

use crate::support::arrivals::Arrivals;
use crate::support::aws::{create_idempotency_table, dynamodb, moto_url};
use crate::support::faulty_aws::{Fault, FaultyAws};
use crate::support::function::Launch;
use crate::support::runtime::Runtime;
use crate::support::*;
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::{MockServer, ResponseTemplate};

/// A provider as the stand-in plays it: its documented success and its throttling answer.
struct Limited {
    name: &'static str,
    success: Value,
    throttled: ResponseTemplate,
}

fn meta() -> Limited {
    Limited {
        name: "meta",
        success: meta_success(),
        throttled: ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
            "fbtrace_id": "AbC123"}})),
    }
}

fn autocalls() -> Limited {
    Limited {
        name: "autocalls",
        success: autocalls_success(),
        throttled: ResponseTemplate::new(429)
            .set_body_json(json!({"success": false, "error": "Too many requests"})),
    }
}

/// The `n`th send request to `provider`, told apart from the others by its variable.
fn request(provider: &str, n: usize) -> Value {
    let mut body = fixture_request(provider);
    body["variables"] = json!([format!("m-{n}")]);
    body["client_reference"] = json!(format!("ref-{n}"));
    body
}

fn fixture_request(provider: &str) -> Value {
    crate::support::fixtures::fixture(Box::leak(provider.to_string().into_boxed_str())).request
}

/// The provider stand-in, throttling past `rate` in any sliding second.
async fn stand_in(provider: &Limited, rate: usize) -> (MockServer, Arrivals) {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    arrivals
        .enforce(
            &server,
            provider.success.clone(),
            Duration::from_millis(20),
            Some((rate, provider.throttled.clone())),
        )
        .await;
    (server, arrivals)
}

/// `count` instances of the built binary sharing `table`, the provider at `server`.
async fn instances(
    provider: &str,
    rate: usize,
    count: usize,
    server: &MockServer,
    aws_endpoint: &str,
    table: &str,
) -> Vec<Runtime> {
    let upper = provider.to_ascii_uppercase();
    let mut started = vec![];
    for _ in 0..count {
        let launch = Launch::new()
            .var(leak(format!("{upper}_BASE_URL")), server.uri())
            .var(leak(format!("{upper}_MAX_RPS")), rate.to_string())
            .var("AWS_ENDPOINT_URL", aws_endpoint)
            .var("RATE_LIMIT_TABLE", table);
        started.push(launch.start().await);
    }
    started
}

/// An instance's lines saying the table failed, and its sends counted `RateLimitFallback`.
fn pacing_alone(output: &str) -> (usize, u64) {
    let warnings = output
        .lines()
        .filter(|l| l.contains("the rate-limit table failed"))
        .count();
    let fallbacks = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|l| l["RateLimitFallback"].as_u64())
        .sum();
    (warnings, fallbacks)
}

/// Whether any instance paced alone (the table failed it) during the run.
fn paced_alone(functions: &[Runtime]) -> bool {
    functions.iter().any(|f| pacing_alone(&f.output()).0 > 0)
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// SQS batches of 10, drained by every instance at once, each taking the next batch as soon
/// as it answered the last (as an event source mapping does); the records reported failed.
async fn drain(functions: &[Runtime], provider: &str, messages: usize) -> Vec<String> {
    let queue: Arc<Mutex<VecDeque<Value>>> = Arc::default();
    for batch in 0..messages.div_ceil(10) {
        let records: Vec<Value> = (batch * 10..((batch + 1) * 10).min(messages))
            .map(|n| {
                let mut record = fixture("sqs-batch.json")["Records"][0].clone();
                record["messageId"] = json!(format!("record-{n}"));
                record["body"] = json!(request(provider, n).to_string());
                record
            })
            .collect();
        queue
            .lock()
            .unwrap()
            .push_back(json!({ "Records": records }));
    }
    let workers = functions.iter().map(|function| {
        let queue = queue.clone();
        async move {
            let mut failed = vec![];
            loop {
                let Some(batch) = queue.lock().unwrap().pop_front() else {
                    return failed;
                };
                let answer = function
                    .invoke(batch, Duration::from_secs(30))
                    .await
                    .expect("no batch fails as a whole");
                for failure in answer["batchItemFailures"].as_array().unwrap() {
                    failed.push(failure["itemIdentifier"].as_str().unwrap().to_string());
                }
            }
        }
    });
    futures_util::future::join_all(workers)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Every message reached the provider exactly once, none throttled, no second over `rate`.
fn each_once_within(arrivals: &Arrivals, failed: &[String], messages: usize, rate: usize) {
    // On failure, when each request arrived (ms after the first).
    let times = arrivals.times();
    let offsets: Vec<u128> = times.iter().map(|t| (*t - times[0]).as_millis()).collect();
    assert_eq!(
        arrivals.throttled(),
        0,
        "the provider throttled no send: {offsets:?}"
    );
    assert!(failed.is_empty(), "no record failed: {failed:?}");
    let bodies: Vec<String> = arrivals.bodies().iter().map(Value::to_string).collect();
    let distinct: HashSet<&String> = bodies.iter().collect();
    assert_eq!(
        (bodies.len(), distinct.len()),
        (messages, messages),
        "each message sent once"
    );
    assert!(arrivals.busiest_second() <= rate);
}

/// No item of the table holds a key, a number or a variable: only digests and numbers.
async fn holds_nothing_personal(table: &str) {
    let items = dynamodb()
        .await
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items()
        .to_vec();
    assert!(!items.is_empty(), "the limit's items are in the table");
    let text = format!("{items:?}");
    for secret in default_secret_values() {
        assert!(!text.contains(&secret), "the table holds no secret value");
    }
    for number in ["4155551234", "415 555", "+1415"] {
        assert!(!text.contains(number), "the table holds no phone number");
    }
    assert!(!text.contains("m-1"), "the table holds no variable");
    for item in &items {
        let names: HashSet<&str> = item.keys().map(String::as_str).collect();
        assert_eq!(names, HashSet::from(["id", "next_us", "expires_at"]));
        assert!(item["expires_at"].as_n().is_ok(), "it expires by TTL");
    }
}

/// Every string of the default secret (keys, tokens, ids).
fn default_secret_values() -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(text) if text.len() >= 6 => out.push(text.clone()),
            Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = vec![];
    walk(&serde_json::from_str(&default_secret()).unwrap(), &mut out);
    out
}

/// The tests that start eight instances take turns: on a machine of two cores, two of them
/// at once would measure the machine's scheduling more than the limit.
static EIGHT_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn queue_drained_by_instances_keeps_the_limit(
    provider: Limited,
    rate: usize,
    per_instance: usize,
) {
    setup();
    let _turn = EIGHT_AT_A_TIME.lock().await;
    for count in [4, 8] {
        // moto is shared by every test of the run: when it stalls past the limit's patience,
        // the instances rightly pace alone (the fault test shows it), and this run then says
        // nothing of the shared limit: it is run once more, and must not fall back again.
        for attempt in 0..2 {
            let table = create_idempotency_table().await;
            let (server, arrivals) = stand_in(&provider, rate).await;
            let functions =
                instances(provider.name, rate, count, &server, &moto_url(), &table).await;
            let messages = per_instance * count;
            let failed = drain(&functions, provider.name, messages).await;
            let fell_back = paced_alone(&functions);
            if fell_back && attempt == 0 {
                eprintln!(
                    "{count} instances: moto stalled and the instances paced alone; once more"
                );
                continue;
            }
            assert!(
                !fell_back,
                "{count} instances: the table failed in two runs"
            );
            each_once_within(&arrivals, &failed, messages, rate);
            holds_nothing_personal(&table).await;
            for function in &functions {
                assert_nothing_forbidden(&function.output());
            }
            break;
        }
    }
}

#[tokio::test]
async fn four_and_eight_instances_draining_a_queue_of_meta_sends_are_never_throttled() {
    queue_drained_by_instances_keeps_the_limit(meta(), 40, 20).await;
}

#[tokio::test]
async fn four_and_eight_instances_draining_a_queue_of_autocalls_sends_are_never_throttled() {
    queue_drained_by_instances_keeps_the_limit(autocalls(), 5, 3).await;
}

#[tokio::test]
async fn two_instances_taking_http_sends_at_once_keep_the_limit_in_total() {
    setup();
    let (rate, each) = (10, 15);
    let provider = autocalls();
    // As the queue's test: a run that moto stalled into the fallback is run once more.
    for attempt in 0..2 {
        let table = create_idempotency_table().await;
        let (server, arrivals) = stand_in(&provider, rate).await;
        let functions = instances("autocalls", rate, 2, &server, &moto_url(), &table).await;
        let sends = functions.iter().enumerate().flat_map(|(i, function)| {
            (0..each).map(move |n| {
                let body = request("autocalls", i * each + n).to_string();
                let event = http_v2("POST", "/v1/messages", Some(body), &[]);
                function.invoke(event, Duration::from_secs(30))
            })
        });
        let answers = futures_util::future::join_all(sends).await;
        for answer in answers {
            let answer = HttpAnswer::from_envelope(answer.unwrap());
            assert_eq!(answer.status, 200, "{:?}", answer.body);
        }
        let fell_back = paced_alone(&functions);
        if fell_back && attempt == 0 {
            eprintln!("two instances: moto stalled and the instances paced alone; once more");
            continue;
        }
        assert!(!fell_back, "the table failed in two runs");
        each_once_within(&arrivals, &[], 2 * each, rate);
        break;
    }
}

/// A send whose shared slot comes after its latest start: 429 with `Retry-After`, nothing
/// sent, its key free; the same as the instance's own pacer (`together.rs`). At 1/s, with
/// 3.5 s left and a keyed send's latest start 2 s in (500 ms each for the answer, the
/// outcome's write and the attempt), the slots at 0 and 1.08 s fit (with 0.9 s to spare for
/// a slow moto) and the one at 2.16 s does not.
#[tokio::test]
async fn a_shared_slot_that_comes_too_late_is_rate_limited_with_its_key_free() {
    setup();
    let table = create_idempotency_table().await;
    let t = TestApp::with(Options {
        vars: vec![
            ("IDEMPOTENCY_TABLE", table.clone()),
            ("RATE_LIMIT_TABLE", table.clone()),
            ("AUTOCALLS_MAX_RPS", "1".into()),
            ("MIN_ATTEMPT_MS", "500".into()),
        ],
        ..Options::default()
    })
    .await;
    accepts(&t.stubs["autocalls"], "autocalls").await;
    accepts(&t.stubs["bitbybit"], "bitbybit").await;
    // The secret read first (by a send of an unpaced provider), so that the batch's time is
    // its slots' alone.
    assert_eq!(
        t.post("/v1/messages", &bitbybit_request()).await.status,
        200
    );
    let entries: Vec<Value> = (0..3).map(|i| keyed(&format!("shared-{i}"))).collect();
    let batch = json!({"messages": entries}).to_string();
    let event = http_v2("POST", "/v1/messages/batch", Some(batch), &[]);
    let answer = HttpAnswer::from_envelope(
        t.invoke_with(event, Duration::from_millis(3500))
            .await
            .unwrap(),
    );
    let results = answer.body["results"].as_array().unwrap().clone();
    let late: Vec<&Value> = results.iter().filter(|r| r["http_status"] == 429).collect();
    assert_eq!(late.len(), 1, "{results:?}");
    assert_eq!(late[0]["error"]["code"], "RATE_LIMITED");
    assert_eq!(received(&t.stubs["autocalls"]).await, 2);
    // Its key is free: the same entry with time enough is sent.
    let index = results
        .iter()
        .position(|r| r["http_status"] == 429)
        .unwrap();
    let again = http_v2(
        "POST",
        "/v1/messages",
        Some(keyed(&format!("shared-{index}")).to_string()),
        &[],
    );
    let again = HttpAnswer::from_envelope(t.invoke(again).await.unwrap());
    assert_eq!((again.status, again.replayed()), (200, false));
    // A single send refused the same way says when to come back: two at once, once the
    // limit has no backlog, the second's slot a second away.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let single = |key: &str| {
        let event = http_v2("POST", "/v1/messages", Some(keyed(key).to_string()), &[]);
        t.invoke_with(event, Duration::from_secs(2))
    };
    let (a, b) = tokio::join!(single("single-a"), single("single-b"));
    let refused: Vec<HttpAnswer> = [a, b]
        .into_iter()
        .map(|a| HttpAnswer::from_envelope(a.unwrap()))
        .filter(|a| a.status == 429)
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].code(), "RATE_LIMITED");
    assert!(refused[0].headers["retry-after"].parse::<u64>().unwrap() >= 1);
}

/// The table unreachable, refusing or slow: every send goes, paced by its instance alone,
/// each counted as `RateLimitFallback`, with one log line.
#[tokio::test]
async fn a_table_that_cannot_answer_leaves_each_instance_pacing_alone_and_says_so_once() {
    setup();
    let table = create_idempotency_table().await;
    let proxy = FaultyAws::start().await;
    let cases = [
        ("unreachable", "http://127.0.0.1:9".to_string(), None),
        ("refusing", proxy.url.clone(), Some(Fault::Throttle)),
        ("slow", proxy.url.clone(), Some(Fault::Hang)),
    ];
    let rate = 5;
    for (case, endpoint, fault) in cases {
        if let Some(fault) = fault {
            proxy.fail("UpdateItem", fault, 100);
        }
        let (server, arrivals) = stand_in(&autocalls(), rate).await;
        let functions = instances("autocalls", rate, 1, &server, &endpoint, &table).await;
        let failed = drain(&functions, "autocalls", 8).await;
        each_once_within(&arrivals, &failed, 8, rate);
        let output = functions[0].output();
        let (warnings, fallbacks) = pacing_alone(&output);
        assert_eq!(warnings, 1, "{case}: one log line\n{output}");
        assert_eq!(fallbacks, 8, "{case}: every send counted");
        // Paced alone: never faster than the limit.
        let times = arrivals.times();
        assert!(
            times
                .windows(2)
                .all(|w| w[1] - w[0] >= Duration::from_millis(150)),
            "{case}: paced"
        );
        proxy.fail("UpdateItem", Fault::Throttle, 0);
    }
}

/// Two instances whose table cannot be reached: every send of both goes, each counted as
/// `RateLimitFallback`, one log line from each instance; each paces alone at the whole limit,
/// so together they stay within twice it (what the contract allows while the table fails).
#[tokio::test]
async fn two_instances_without_their_table_each_pace_alone_and_every_send_goes() {
    setup();
    let table = create_idempotency_table().await;
    let rate = 5;
    let (server, arrivals) = stand_in(&autocalls(), 2 * rate).await;
    let unreachable = "http://127.0.0.1:9";
    let functions = instances("autocalls", rate, 2, &server, unreachable, &table).await;
    let failed = drain(&functions, "autocalls", 16).await;
    each_once_within(&arrivals, &failed, 16, 2 * rate);
    let mut fallbacks = 0;
    for function in &functions {
        let output = function.output();
        let (warnings, counted) = pacing_alone(&output);
        assert_eq!(warnings, 1, "one log line from each instance\n{output}");
        fallbacks += counted;
    }
    assert_eq!(fallbacks, 16, "every send counted");
}
