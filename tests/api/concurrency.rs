//! Many invocations at once in one instance (Lambda Managed Instances): the built binary
//! with `AWS_LAMBDA_MAX_CONCURRENCY=16` under the Runtime API stand-in, which hands an
//! event to every waiting `GET /next`; invocations are started from several threads.
//! Secrets Manager and DynamoDB are moto behind a counting proxy; providers are stubs.

use crate::support::arrivals::Arrivals;
use crate::support::aws::{self, AwsProxy};
use crate::support::function::Launch;
use crate::support::runtime::{Answer, Runtime};
use crate::support::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const IN_FLIGHT: usize = 16;
const TIMEOUT: Duration = Duration::from_secs(30);

struct Instance {
    function: Arc<Runtime>,
    bitbybit: MockServer,
    autocalls: MockServer,
    aws: AwsProxy,
    secret_id: String,
}

impl Instance {
    /// One function process serving up to 16 invocations at once, its secret in moto.
    async fn start(extra: &[(&'static str, &str)]) -> Instance {
        setup();
        let aws = AwsProxy::start().await;
        let bitbybit = MockServer::start().await;
        let autocalls = MockServer::start().await;
        let (launch, secret_id) = Launch::with_secret_in(&aws).await;
        let function = launch
            .providers(&bitbybit, &autocalls)
            .var("AWS_LAMBDA_MAX_CONCURRENCY", IN_FLIGHT.to_string())
            .var("SECRETS_CACHE_TTL_SECONDS", "3600")
            .var("PROVIDER_TIMEOUT_MS", "10000")
            .vars(extra)
            .start()
            .await;
        Instance {
            function: Arc::new(function),
            bitbybit,
            autocalls,
            aws,
            secret_id,
        }
    }

    /// Invokes the function with every event at once, each from its own task (the test
    /// runs on several threads), and returns the answers in the events' order.
    async fn invoke_all(&self, events: Vec<(String, Value, Duration)>) -> Vec<Answer> {
        let tasks: Vec<_> = events
            .into_iter()
            .map(|(id, event, timeout)| {
                let function = self.function.clone();
                tokio::spawn(async move { function.invoke_as(id, event, timeout).await })
            })
            .collect();
        let mut answers = vec![];
        for task in tasks {
            answers.push(task.await.expect("invocation task"));
        }
        answers
    }

    /// bitbybit answers every send with success after `delay`, recording arrivals.
    async fn bitbybit_answers_after(&self, delay: Duration) -> Arrivals {
        let arrivals = Arrivals::default();
        arrivals
            .serve(&self.bitbybit, bitbybit_success(), delay, None)
            .await;
        arrivals
    }

    fn output(&self) -> String {
        let output = self.function.output();
        assert_nothing_forbidden(&output);
        output
    }
}

/// Direct invocations of bitbybit sends, one per id, with distinct templates.
fn bitbybit_sends(label: &str, n: usize) -> Vec<(String, Value, Duration)> {
    (0..n)
        .map(|i| {
            let mut request = bitbybit_request();
            request["template"] = json!(format!("{label}_{i}"));
            request["client_reference"] = json!(format!("{label}-ref-{i}"));
            (format!("{label}-{i}"), request, TIMEOUT)
        })
        .collect()
}

fn assert_all_sent(answers: &[Answer]) {
    for answer in answers {
        let document = answer.as_ref().expect("not a function error");
        assert_eq!(document["http_status"], 200, "{document}");
        assert!(document["message_id"].is_string(), "{document}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_invocations_overlap_at_the_provider() {
    let instance = Instance::start(&[]).await;
    let delay = Duration::from_millis(400);
    let arrivals = instance.bitbybit_answers_after(delay).await;
    let started = Instant::now();
    let answers = instance
        .invoke_all(bitbybit_sends("overlap", IN_FLIGHT))
        .await;
    assert_all_sent(&answers);
    assert_eq!(arrivals.bodies().len(), IN_FLIGHT);
    let most = arrivals.most_in_flight(delay);
    assert!(
        most >= 8,
        "at most {most} sends were in flight at once (in {:?})",
        started.elapsed()
    );
    instance.output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_sends_fetch_the_secret_once_and_a_rotation_refetches_once() {
    let instance = Instance::start(&[]).await;
    instance
        .bitbybit_answers_after(Duration::from_millis(200))
        .await;
    assert_all_sent(
        &instance
            .invoke_all(bitbybit_sends("first", IN_FLIGHT))
            .await,
    );
    assert_eq!(
        instance.aws.get_secret_value_calls(),
        1,
        "sixteen concurrent first sends, one GetSecretValue"
    );

    // The key is rotated: the provider now refuses the cached key and takes the new one.
    instance.bitbybit.reset().await;
    Mock::given(method("POST"))
        .and(header("x-api-key", ROTATED_KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(bitbybit_success())
                .set_delay(Duration::from_millis(100)),
        )
        .mount(&instance.bitbybit)
        .await;
    answer_every_post(
        &instance.bitbybit,
        ResponseTemplate::new(401)
            .set_body_json(json!({"error": {"code": "INVALID_API_KEY"}}))
            .set_delay(Duration::from_millis(100)),
    )
    .await;
    let rotated = json!({"bitbybit": {"api_key": ROTATED_KEY}, "autocalls": {"api_key": AUTOCALLS_KEY, "sender_id": 12}});
    aws::put_secret(&instance.secret_id, &rotated.to_string()).await;
    assert_all_sent(
        &instance
            .invoke_all(bitbybit_sends("rotated", IN_FLIGHT))
            .await,
    );
    assert_eq!(
        instance.aws.get_secret_value_calls(),
        2,
        "sixteen concurrent 401s, one refetch"
    );
    let sent = instance.bitbybit.received_requests().await.unwrap();
    let refused = sent
        .iter()
        .filter(|r| r.headers.get("x-api-key").unwrap() != ROTATED_KEY)
        .count();
    assert_eq!(
        (refused, sent.len() - refused),
        (IN_FLIGHT, IN_FLIGHT),
        "each send: one refused try with the old key, one with the new key"
    );
    instance.output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn autocalls_pacing_is_shared_by_concurrent_invocations() {
    let instance = Instance::start(&[("AUTOCALLS_MAX_RPS", "5")]).await;
    let arrivals = Arrivals::default();
    arrivals
        .serve(
            &instance.autocalls,
            autocalls_success(),
            Duration::ZERO,
            None,
        )
        .await;
    // Thirty sends: ten SQS batches of three records, all ten invocations at once.
    let batches = (0..10)
        .map(|b| {
            let records: Vec<Value> = (0..3)
                .map(|r| {
                    let mut record = fixture("sqs-batch.json")["Records"][0].clone();
                    let mut body = autocalls_request();
                    body["client_reference"] = json!(format!("paced-{b}-{r}"));
                    record["messageId"] = json!(format!("m-{b}-{r}"));
                    record["body"] = json!(body.to_string());
                    record
                })
                .collect();
            (format!("paced-{b}"), json!({ "Records": records }), TIMEOUT)
        })
        .collect();
    for answer in instance.invoke_all(batches).await {
        assert_eq!(answer.unwrap(), json!({"batchItemFailures": []}));
    }
    assert_eq!(arrivals.bodies().len(), 30);
    let busiest = arrivals.busiest_second();
    assert!(busiest <= 5, "{busiest} autocalls requests in one second");
    instance.output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_invocations_with_one_idempotency_key_send_once() {
    setup();
    let table = aws::create_idempotency_table().await;
    let instance = Instance::start(&[("IDEMPOTENCY_TABLE", &table)]).await;
    let arrivals = instance
        .bitbybit_answers_after(Duration::from_millis(500))
        .await;
    let mut request = bitbybit_request();
    request["idempotency_key"] = json!("order-8813-notice");
    let answers = instance
        .invoke_all(vec![
            ("same-key-a".into(), request.clone(), TIMEOUT),
            ("same-key-b".into(), request, TIMEOUT),
        ])
        .await;
    assert_eq!(arrivals.bodies().len(), 1, "one provider call: {answers:?}");
    let mut statuses: Vec<u64> = answers
        .iter()
        .map(|a| a.as_ref().unwrap()["http_status"].as_u64().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        vec![200, 409],
        "one sent, the other told the first is in flight: {answers:?}"
    );
    instance.output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_log_line_names_the_invocation_it_belongs_to() {
    let instance = Instance::start(&[]).await;
    // Each template's first request is refused with a 429 and a short Retry-After, so that
    // every invocation writes a warning line mid-flight as well as its request line.
    let seen = Arc::new(std::sync::Mutex::new(HashSet::new()));
    Mock::given(method("POST"))
        .respond_with(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let template = body["template_name"].as_str().unwrap().to_string();
            if seen.lock().unwrap().insert(template) {
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "1")
                    .set_body_json(json!({"error": {"code": "RATE_LIMIT_EXCEEDED"}}))
            } else {
                ResponseTemplate::new(200)
                    .set_body_json(bitbybit_success())
                    .set_delay(Duration::from_millis(300))
            }
        })
        .mount(&instance.bitbybit)
        .await;
    let sends = bitbybit_sends("logged", IN_FLIGHT);
    let reference_of: HashMap<String, String> = sends
        .iter()
        .map(|(id, request, _)| {
            (
                id.clone(),
                request["client_reference"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_all_sent(&instance.invoke_all(sends).await);
    assert_eq!(
        instance.bitbybit.received_requests().await.unwrap().len(),
        2 * IN_FLIGHT
    );

    let mut lines_of: HashMap<String, Vec<Value>> = HashMap::new();
    for line in instance.output().lines() {
        let Ok(line) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if line.get("_aws").is_some() {
            // An EMF metric line: it names its request as a property.
            let id = line["request_id"].as_str().expect("metric request_id");
            assert!(reference_of.contains_key(id), "{line}");
            continue;
        }
        if line["message"] == "phone metadata loaded during init" {
            continue; // written before any invocation, by design
        }
        let id = line["span"]["requestId"]
            .as_str()
            .unwrap_or_else(|| panic!("a log line without its invocation: {line}"));
        lines_of.entry(id.to_string()).or_default().push(line);
    }
    assert_eq!(lines_of.len(), IN_FLIGHT, "{:?}", lines_of.keys());
    for (id, lines) in &lines_of {
        let reference = &reference_of[id];
        let finished: Vec<&Value> = lines
            .iter()
            .filter(|l| l["message"] == "request finished")
            .collect();
        assert_eq!(finished.len(), 1, "{id}: {lines:?}");
        assert_eq!(finished[0]["request_id"], id.as_str());
        assert_eq!(finished[0]["client_reference"], reference.as_str());
        let waits = lines.iter().filter(|l| l["level"] == "WARN").count();
        assert_eq!(waits, 1, "{id}: one 429 wait of its own: {lines:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_invocation_keeps_its_own_deadline() {
    let instance = Instance::start(&[]).await;
    instance
        .bitbybit_answers_after(Duration::from_secs(4))
        .await;
    // Two sends at once, the provider taking 4 s over each: one invocation has 2 s left,
    // the other 30 s. Only the first's own deadline can end its send early.
    let mut sends = bitbybit_sends("deadline", 2);
    sends[0].2 = Duration::from_secs(2);
    let answers = instance.invoke_all(sends).await;
    let short = answers[0].as_ref().unwrap();
    assert_eq!(short["http_status"], 504, "{short}");
    assert_eq!(short["error"]["code"], "PROVIDER_TIMEOUT", "{short}");
    assert_all_sent(&answers[1..]);
    instance.output();
}
