//! The benchmark runner (`bash bench/run.sh` builds it and runs it). It starts the release
//! binary of wa-dispatch and of the floor (`bench/floor.rs`) under a Lambda Runtime API
//! stand-in on loopback, which is also the Secrets Manager API, the DynamoDB API (the
//! idempotency table, for keyed sends) and the bitbybit provider, and prints every figure
//! beside the floor's. Times are this machine's, not Lambda's: read the ratios.
//!
//!     bench [--function PATH] [--floor PATH] [--arm64 PATH] [--runs N] [--sends N]
//!           [--paced-sends N] [--only keyed|webhooks|scale]
//!     bench --compare BEFORE [--function AFTER] [--rounds N] [--runs N] [--sends N]
//!
//! `--compare` measures two binaries of wa-dispatch alternately instead, in each of
//! `--rounds` rounds: cold starts one of each in turn, then warm sends with both processes
//! up, each event to one and then to the other. It prints init, the cold send, warm single
//! sends (direct and over HTTP), SQS batches and binary size: the median and the range of
//! the rounds' figures. `--only keyed` prints only the keyed sends' table, `--only webhooks`
//! only the webhooks' (`bench/webhooks.rs`).

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

mod scale;
mod webhooks;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The idempotency table the keyed runs name (`IDEMPOTENCY_TABLE`); its partition key is
/// `id`, as in template.yaml.
const TABLE: &str = "wa-dispatch-bench-idempotency";
/// The status table the webhook runs name (`STATUS_TABLE`), and their bus.
const STATUS_TABLE: &str = "wa-dispatch-bench-statuses";
const STATUS_BUS: &str = "wa-dispatch-bench-status-bus";
/// The fingerprint key the keyed runs' secret holds (`"wa-dispatch": {"fingerprint_key"}`).
const FINGERPRINT_KEY: &str = "bench-fingerprint-key-0123456789abcdef0123456789";
/// How much wider than `1 / rate` the function spaces a paced provider's slots
/// (src/infra/pacing/memory.rs, `SPACING_MARGIN`).
const SPACING_MARGIN: f64 = 1.08;

/// When the runtime handed an event over, when the answer came back, and the answer.
struct Timing {
    handed: Instant,
    answered: Instant,
    answer: Value,
}

struct Event {
    id: String,
    body: Value,
    reply: oneshot::Sender<Timing>,
}

/// One DynamoDB call as the stand-in saw it: the operation, the `state` it wrote (if any),
/// and when it arrived and was answered.
#[derive(Clone, Debug)]
struct DynamoCall {
    op: String,
    state: Option<String>,
    arrived: Instant,
    answered: Instant,
}

/// The calls one invocation made outside: to DynamoDB, and to the provider (arrival,
/// answer).
struct Calls {
    dynamo: Vec<DynamoCall>,
    provider: Vec<(Instant, Instant)>,
}

/// What a stand plays besides the Runtime API.
#[derive(Clone, Copy, Default)]
struct Options {
    /// The provider's answer, this long after its request.
    provider_delay: Duration,
    /// DynamoDB's answers, this long after their requests.
    dynamo_delay: Duration,
    /// The secret holds a fingerprint key (keyed sends need one).
    fingerprint: bool,
}

/// One function process's world: its Runtime API, its Secrets Manager, its DynamoDB table,
/// its provider.
struct World {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    pending: Mutex<HashMap<String, (Instant, oneshot::Sender<Timing>)>>,
    first_poll: Mutex<Option<Instant>>,
    /// The function's process, and its minor page faults when it first asked for an event.
    pid: Mutex<Option<u32>>,
    faults_at_first_poll: Mutex<Option<(u64, f64)>>,
    /// The provider's own time: from a request's arrival to its answer.
    provider: Mutex<Vec<(Instant, Instant)>>,
    /// DynamoDB's calls, with their own time.
    dynamo: Mutex<Vec<DynamoCall>>,
    /// The idempotency table's items by `id`, in DynamoDB's JSON (`{"S": ...}`, `{"N": ...}`).
    table: Mutex<HashMap<String, Map<String, Value>>>,
    /// EventBridge's `PutEvents` calls (arrival, answer), and the entries they held.
    bus: Mutex<Vec<(Instant, Instant)>>,
    events_put: AtomicUsize,
    options: Options,
}

struct Stand {
    world: Arc<World>,
    events: mpsc::UnboundedSender<Event>,
    addr: SocketAddr,
    next: AtomicUsize,
}

impl Stand {
    async fn start(provider_delay: Duration) -> Stand {
        Stand::start_with(Options {
            provider_delay,
            ..Options::default()
        })
        .await
    }

    async fn start_with(options: Options) -> Stand {
        let (events, queue) = mpsc::unbounded_channel();
        let world = Arc::new(World {
            queue: tokio::sync::Mutex::new(queue),
            pending: Mutex::default(),
            first_poll: Mutex::default(),
            pid: Mutex::default(),
            faults_at_first_poll: Mutex::default(),
            provider: Mutex::default(),
            dynamo: Mutex::default(),
            table: Mutex::default(),
            bus: Mutex::default(),
            events_put: AtomicUsize::new(0),
            options,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = world.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let world = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |r| serve(world.clone(), r));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Stand {
            world,
            events,
            addr,
            next: AtomicUsize::new(1),
        }
    }

    /// Starts `binary` against this stand; `Instant` is taken just before the spawn.
    fn spawn(&self, binary: &str, extra: &[(&str, String)]) -> (Child, Instant) {
        let url = format!("http://{}", self.addr);
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", self.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "wa-dispatch")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &url)
            .env("PROVIDER_SECRET_ID", "wa-dispatch/providers")
            .env("BITBYBIT_BASE_URL", format!("{url}/whatsapp/open/v1"))
            .env("AUTOCALLS_BASE_URL", &url)
            .envs(extra.iter().map(|(k, v)| (*k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let started = Instant::now();
        let child = command.spawn().expect("start the function");
        *self.world.pid.lock().unwrap() = Some(child.id());
        (child, started)
    }

    /// Hands `body` over as the next event and waits for its answer.
    async fn invoke(&self, body: Value) -> Timing {
        let id = format!("bench-{}", self.next.fetch_add(1, Ordering::Relaxed));
        let (reply, answer) = oneshot::channel();
        self.events.send(Event { id, body, reply }).unwrap();
        tokio::time::timeout(Duration::from_secs(60), answer)
            .await
            .expect("the function answered")
            .expect("answer channel")
    }

    /// The time spent outside the function inside `[from, to]`: the union of the
    /// provider's, DynamoDB's and EventBridge's request intervals. Forgets them, and gives
    /// back the DynamoDB calls made meanwhile and the provider's requests.
    fn outside_time(&self, from: Instant, to: Instant) -> (Duration, Calls) {
        let provider: Vec<(Instant, Instant)> =
            std::mem::take(&mut *self.world.provider.lock().unwrap())
                .into_iter()
                .filter(|(a, b)| *a >= from && *b <= to)
                .collect();
        let dynamo: Vec<DynamoCall> = std::mem::take(&mut *self.world.dynamo.lock().unwrap())
            .into_iter()
            .filter(|c| c.arrived >= from && c.answered <= to)
            .collect();
        let mut spans = provider.clone();
        spans.extend(dynamo.iter().map(|c| (c.arrived, c.answered)));
        spans.extend(
            std::mem::take(&mut *self.world.bus.lock().unwrap())
                .into_iter()
                .filter(|(a, b)| *a >= from && *b <= to),
        );
        spans.sort();
        let (mut total, mut end) = (Duration::ZERO, from);
        for (a, b) in spans {
            let (a, b) = (a.max(end), b.min(to));
            if b > a {
                total += b - a;
                end = b;
            }
        }
        (total, Calls { dynamo, provider })
    }

    /// An invocation's own time, in ms: event to answer, less the time outside (the
    /// provider's and DynamoDB's); and the calls it made.
    fn overhead(&self, timing: &Timing) -> (f64, Calls) {
        let (outside, calls) = self.outside_time(timing.handed, timing.answered);
        (ms(timing.answered - timing.handed) - ms(outside), calls)
    }
}

async fn serve(
    world: Arc<World>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let arrived = Instant::now();
    let path = req.uri().path().to_string();
    if path.ends_with("/runtime/invocation/next") {
        let first = world.first_poll.lock().unwrap().get_or_insert(arrived) == &arrived;
        if first {
            let faults = world
                .pid
                .lock()
                .unwrap()
                .and_then(|pid| Some((minor_faults(pid)?, cpu_ms(pid)?)));
            *world.faults_at_first_poll.lock().unwrap() = faults;
        }
        let event = world.queue.lock().await.recv().await;
        let Some(Event { id, body, reply }) = event else {
            return Ok(Response::builder()
                .status(500)
                .body(Full::default())
                .unwrap());
        };
        let deadline =
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60);
        let bytes = Bytes::from(body.to_string());
        world
            .pending
            .lock()
            .unwrap()
            .insert(id.clone(), (Instant::now(), reply));
        return Ok(Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header(
                "lambda-runtime-deadline-ms",
                deadline.as_millis().to_string(),
            )
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:wa-dispatch",
            )
            .body(Full::new(bytes))
            .unwrap());
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req.into_body().collect().await?.to_bytes();
    if target.as_deref() == Some("secretsmanager.GetSecretValue") {
        let text = std::fs::read_to_string(format!("{ROOT}/local/secrets.json")).unwrap();
        let secret = if world.options.fingerprint {
            let mut secret: Value = serde_json::from_str(&text).unwrap();
            secret["wa-dispatch"] = json!({ "fingerprint_key": FINGERPRINT_KEY });
            secret.to_string()
        } else {
            text
        };
        let answer = json!({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:wa-dispatch/providers-AbCdEf",
            "Name": "wa-dispatch/providers", "SecretString": secret, "VersionId": "v1", "CreatedDate": 1.7e9});
        return Ok(json_answer(200, answer));
    }
    if target.as_deref() == Some("AWSEvents.PutEvents") {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let count = request["Entries"].as_array().map_or(0, Vec::len);
        world.events_put.fetch_add(count, Ordering::Relaxed);
        let entries: Vec<Value> = (0..count)
            .map(|i| json!({ "EventId": format!("bench-event-{i}") }))
            .collect();
        let response = Response::builder()
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-requestid", "BENCH")
            .body(Full::new(Bytes::from(
                json!({"FailedEntryCount": 0, "Entries": entries}).to_string(),
            )))
            .unwrap();
        world.bus.lock().unwrap().push((arrived, Instant::now()));
        return Ok(response);
    }
    if let Some(op) = target
        .as_deref()
        .and_then(|t| t.strip_prefix("DynamoDB_20120810."))
    {
        tokio::time::sleep(world.options.dynamo_delay).await;
        let (status, answer, state) = dynamo(&world, op, &body);
        let response = Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", "BENCH")
            .body(Full::new(Bytes::from(answer.to_string())))
            .unwrap();
        world.dynamo.lock().unwrap().push(DynamoCall {
            op: op.to_string(),
            state,
            arrived,
            answered: Instant::now(),
        });
        return Ok(response);
    }
    if path.ends_with("/messages/send-template") {
        tokio::time::sleep(world.options.provider_delay).await;
        let answer =
            json!({"data": {"messageId2": "wamid.BENCH", "timestamp": "2026-01-15T14:00:00Z"}});
        let response = json_answer(200, answer);
        world
            .provider
            .lock()
            .unwrap()
            .push((arrived, Instant::now()));
        return Ok(response);
    }
    // /2018-06-01/runtime/invocation/{id}/response | /error
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let [_, "runtime", "invocation", id, kind] = parts.as_slice() {
        if let Some((handed, reply)) = world.pending.lock().unwrap().remove(*id) {
            let mut answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if *kind == "error" {
                answer = json!({"function_error": answer});
            }
            let _ = reply.send(Timing {
                handed,
                answered: arrived,
                answer,
            });
        }
        return Ok(Response::builder()
            .status(202)
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap());
    }
    Ok(json_answer(
        404,
        json!({"message": format!("no such path {path}")}),
    ))
}

/// DynamoDB's JSON API over the stand's one table, as far as the function uses it:
/// PutItem, GetItem, UpdateItem (`SET` only) and DeleteItem, each with its condition
/// (`attribute_not_exists`, `attribute_exists`, comparisons, `AND`, `OR`, `#names`), a
/// false condition answered as DynamoDB does (400 `ConditionalCheckFailedException`).
/// Gives the status, the document and the `state` the call wrote. The status table's calls
/// are `webhooks::status_table`'s.
fn dynamo(world: &World, op: &str, body: &[u8]) -> (u16, Value, Option<String>) {
    fn error(kind: &str, message: &str) -> (u16, Value, Option<String>) {
        let kind = format!("com.amazonaws.dynamodb.v20120810#{kind}");
        (400, json!({"__type": kind, "message": message}), None)
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let empty = Map::new();
    let names = request["ExpressionAttributeNames"]
        .as_object()
        .unwrap_or(&empty);
    let values = request["ExpressionAttributeValues"]
        .as_object()
        .unwrap_or(&empty);
    let name = |path: &str| -> String {
        match names.get(path).and_then(Value::as_str) {
            Some(name) => name.to_string(),
            None => path.to_string(),
        }
    };
    if request["TableName"] == STATUS_TABLE {
        return webhooks::status_table(op, &request);
    }
    if request["TableName"] == scale::RATE_TABLE {
        return scale::rate_table(op, &request);
    }
    let condition = request["ConditionExpression"].as_str();
    let key_of = |item: &Value| item["id"]["S"].as_str().map(str::to_string);
    // The call's condition on the item as it is: `None` when it holds, else DynamoDB's 400.
    let refused = |item: Option<&Map<String, Value>>| match holds(condition, item, &name, values) {
        Ok(true) => None,
        Ok(false) => Some(error(
            "ConditionalCheckFailedException",
            "The conditional request failed",
        )),
        Err(e) => Some(error("ValidationException", &e)),
    };
    let mut table = world.table.lock().unwrap();
    match op {
        "PutItem" => {
            let (Some(item), Some(id)) = (request["Item"].as_object(), key_of(&request["Item"]))
            else {
                return error("ValidationException", "no item with an `id`");
            };
            if let Some(refused) = refused(table.get(&id)) {
                return refused;
            }
            let state = item["state"]["S"].as_str().map(str::to_string);
            table.insert(id, item.clone());
            (200, json!({}), state)
        }
        "GetItem" => match key_of(&request["Key"]).and_then(|id| table.get(&id)) {
            Some(item) => (200, json!({ "Item": item }), None),
            None => (200, json!({}), None),
        },
        "UpdateItem" => {
            let Some(id) = key_of(&request["Key"]) else {
                return error("ValidationException", "no key `id`");
            };
            if let Some(refused) = refused(table.get(&id)) {
                return refused;
            }
            let expression = request["UpdateExpression"].as_str().unwrap_or("");
            let Some(set) = expression.trim().strip_prefix("SET ") else {
                return error("ValidationException", "only SET is played");
            };
            let mut item = table.get(&id).cloned().unwrap_or_else(|| {
                let mut item = Map::new();
                item.insert("id".into(), json!({ "S": id }));
                item
            });
            let mut state = None;
            for assignment in set.split(',') {
                let Some((path, value)) = assignment.split_once('=') else {
                    return error("ValidationException", "an assignment without `=`");
                };
                let (path, value) = (name(path.trim()), value.trim());
                let Some(value) = values.get(value) else {
                    return error("ValidationException", "an undefined value");
                };
                if path == "state" {
                    state = value["S"].as_str().map(str::to_string);
                }
                item.insert(path, value.clone());
            }
            table.insert(id, item);
            (200, json!({}), state)
        }
        "DeleteItem" => {
            let Some(id) = key_of(&request["Key"]) else {
                return error("ValidationException", "no key `id`");
            };
            if let Some(refused) = refused(table.get(&id)) {
                return refused;
            }
            table.remove(&id);
            (200, json!({}), None)
        }
        _ => error("UnknownOperationException", op),
    }
}

/// Whether a condition expression holds for `item` (absent: `None`); terms joined by `OR`
/// and `AND` (without parentheses), each `attribute_(not_)exists(path)` or `path op :value`.
fn holds(
    condition: Option<&str>,
    item: Option<&Map<String, Value>>,
    name: &dyn Fn(&str) -> String,
    values: &Map<String, Value>,
) -> Result<bool, String> {
    let Some(condition) = condition else {
        return Ok(true);
    };
    let term = |term: &str| -> Result<bool, String> {
        let term = term.trim();
        let has = |path: &str| item.is_some_and(|i| i.contains_key(&name(path.trim())));
        if let Some(path) = term
            .strip_prefix("attribute_not_exists(")
            .and_then(|t| t.strip_suffix(')'))
        {
            return Ok(!has(path));
        }
        if let Some(path) = term
            .strip_prefix("attribute_exists(")
            .and_then(|t| t.strip_suffix(')'))
        {
            return Ok(has(path));
        }
        let parts: Vec<&str> = term.split_whitespace().collect();
        let [left, op, right] = parts[..] else {
            return Err(format!("the stand-in cannot read `{term}`"));
        };
        let value = values
            .get(right)
            .ok_or_else(|| format!("undefined value {right}"))?;
        let Some(attribute) = item.and_then(|i| i.get(&name(left))) else {
            return Ok(false);
        };
        let order = match (
            attribute.get("N"),
            value.get("N"),
            attribute.get("S"),
            value.get("S"),
        ) {
            (Some(a), Some(b), _, _) => {
                let number = |v: &Value| v.as_str().and_then(|t| t.parse::<f64>().ok());
                number(a)
                    .zip(number(b))
                    .and_then(|(a, b)| a.partial_cmp(&b))
            }
            (_, _, Some(a), Some(b)) => Some(a.as_str().cmp(&b.as_str())),
            _ => None,
        };
        use std::cmp::Ordering::*;
        Ok(match (op, order) {
            (_, None) => op == "<>",
            ("=", Some(o)) => o == Equal,
            ("<>", Some(o)) => o != Equal,
            ("<", Some(o)) => o == Less,
            ("<=", Some(o)) => o != Greater,
            (">", Some(o)) => o == Greater,
            (">=", Some(o)) => o != Less,
            _ => return Err(format!("the stand-in cannot read `{term}`")),
        })
    };
    for alternative in condition.split(" OR ") {
        let mut all = true;
        for part in alternative.split(" AND ") {
            all &= term(part)?;
        }
        if all {
            return Ok(true);
        }
    }
    Ok(false)
}

fn json_answer(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn send_request(n: usize) -> Value {
    json!({"provider": "bitbybit", "to": "+62 812 3456 0100", "template": "welcome_message",
           "variables": ["Budi", "Order123"], "client_reference": format!("bench-{n}")})
}

/// A send request with an idempotency key of its own (never used before in the run).
fn keyed_request(n: usize) -> Value {
    static KEYS: AtomicUsize = AtomicUsize::new(0);
    let mut request = send_request(n);
    let key = KEYS.fetch_add(1, Ordering::Relaxed);
    request["idempotency_key"] = json!(format!("bench-key-{key}"));
    request
}

/// The same send as an HTTP API (payload v2) `POST /v1/messages` on stage `prod`.
fn http_request(n: usize) -> Value {
    static EVENT: OnceLock<Value> = OnceLock::new();
    let mut event = EVENT
        .get_or_init(|| {
            let text = std::fs::read_to_string(format!("{ROOT}/events/http-api-v2.json")).unwrap();
            serde_json::from_str::<Value>(&text).unwrap()
        })
        .clone();
    event["body"] = json!(send_request(n).to_string());
    event["isBase64Encoded"] = json!(false);
    event["requestContext"]["requestId"] = json!(format!("bench-http-{n}"));
    event
}

fn sqs_batch(n: usize) -> Value {
    static RECORD: OnceLock<Value> = OnceLock::new();
    let sample = RECORD.get_or_init(|| {
        let text = std::fs::read_to_string(format!("{ROOT}/events/sqs-batch.json")).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["Records"][0].clone()
    });
    let records: Vec<Value> = (0..10)
        .map(|i| {
            let mut record = sample.clone();
            record["messageId"] = json!(format!("bench-{n}-{i}"));
            record["body"] = json!(send_request(n * 10 + i).to_string());
            record
        })
        .collect();
    json!({ "Records": records })
}

/// A send answered 200 (directly or in an HTTP envelope), or a batch with no failures; the
/// floor's echo passes as is.
fn check(timing: &Timing, floor: bool) {
    let a = &timing.answer;
    let ok = floor
        || a["http_status"] == 200
        || a["statusCode"] == 200
        || a["batchItemFailures"] == json!([]);
    assert!(ok, "the function did not send: {a}");
}

/// The minor page faults of process `pid` so far (`/proc/<pid>/stat`, field 10).
fn minor_faults(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's name in parentheses: state is field 3, minflt field 10.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(7)?.parse().ok()
}

/// The CPU time of process `pid` so far, in ms: its threads' time on a CPU
/// (`/proc/<pid>/task/*/schedstat`, first field, ns).
fn cpu_ms(pid: u32) -> Option<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let ns: u64 = tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split(' ').next()?.parse::<u64>().ok()
        })
        .sum();
    Some(ns as f64 / 1e6)
}

/// (current, peak) resident memory in MB.
fn rss_mb(child: &Child) -> (f64, f64) {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn at(values: &[f64], p: f64) -> f64 {
    percentile(&mut values.to_vec(), p)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Default)]
struct Cold {
    /// Process start to the first `/next`.
    init: Vec<f64>,
    /// Process start to the first answer.
    first: Vec<f64>,
    /// The first invocation alone: event handed over to its answer.
    invocation: Vec<f64>,
    /// Minor page faults of the process by its first `/next`, and its CPU time (ms).
    faults: Vec<f64>,
    cpu: Vec<f64>,
}

impl Cold {
    /// One cold start: process start to the first `/next`, and to the first answer.
    async fn start_once(&mut self, binary: &str, floor: bool, extra: &[(&str, String)]) {
        let stand = Stand::start(Duration::ZERO).await;
        let (mut child, started) = stand.spawn(binary, extra);
        let timing = stand.invoke(send_request(0)).await;
        check(&timing, floor);
        let first_poll = stand.world.first_poll.lock().unwrap().expect("polled");
        self.init.push(ms(first_poll - started));
        self.first.push(ms(timing.answered - started));
        self.invocation.push(ms(timing.answered - timing.handed));
        let faults = *stand.world.faults_at_first_poll.lock().unwrap();
        self.faults.push(faults.map_or(f64::NAN, |f| f.0 as f64));
        self.cpu.push(faults.map_or(f64::NAN, |f| f.1));
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[derive(Default)]
struct Warm {
    single: Vec<f64>,
    http: Vec<f64>,
    batch: Vec<f64>,
    rss_after_1k: f64,
    rss_after_10k: f64,
    peak: f64,
}

/// Per-send time minus the provider's own time, over `sends` single sends, as many over
/// HTTP and as many sends in SQS batches of 10; then (with `memory`) the resident memory
/// over 10,000 more sends.
async fn warm(binary: &str, sends: usize, floor: bool, memory: bool) -> Warm {
    let stand = Stand::start(Duration::ZERO).await;
    let (mut child, _) = stand.spawn(binary, &[]);
    let overhead = |timing: &Timing| stand.overhead(timing).0;
    for n in 0..100 {
        check(&stand.invoke(send_request(n)).await, floor);
    }
    let mut single = vec![];
    for n in 0..sends {
        let timing = stand.invoke(send_request(n)).await;
        check(&timing, floor);
        single.push(overhead(&timing));
    }
    let mut http = vec![];
    for n in 0..sends + 100 {
        let timing = stand.invoke(http_request(n)).await;
        check(&timing, floor);
        if n >= 100 {
            http.push(overhead(&timing));
        }
    }
    let mut batch = vec![];
    for n in 0..sends / 10 + 10 {
        let timing = stand.invoke(sqs_batch(n)).await;
        check(&timing, floor);
        if n >= 10 {
            batch.push(overhead(&timing) / 10.0);
        }
    }
    let rss_after_1k = rss_mb(&child).0;
    if memory {
        for n in 0..10_000 {
            check(&stand.invoke(send_request(n)).await, floor);
        }
    }
    let (rss_after_10k, peak) = rss_mb(&child);
    let _ = child.kill();
    let _ = child.wait();
    Warm {
        single,
        http,
        batch,
        rss_after_1k,
        rss_after_10k,
        peak,
    }
}

/// `warm` for two binaries at once, alternately: both processes are up, and each event goes
/// to one, then the same event to the other (the order swapped every other event), so that
/// a noisy moment of the machine hits both alike. No memory run.
async fn warm_alternately(binaries: [&str; 2], sends: usize) -> [Warm; 2] {
    let stands = [
        Stand::start(Duration::ZERO).await,
        Stand::start(Duration::ZERO).await,
    ];
    let mut children: Vec<Child> = stands
        .iter()
        .zip(binaries)
        .map(|(stand, binary)| stand.spawn(binary, &[]).0)
        .collect();
    let mut warm = [Warm::default(), Warm::default()];
    // Each event to both, in turn; `keep` says whether it counts, `per` divides it.
    async fn both(
        stands: &[Stand; 2],
        n: usize,
        event: &Value,
        keep: bool,
        per: f64,
        into: &mut [Vec<f64>; 2],
    ) {
        let order = if n.is_multiple_of(2) { [0, 1] } else { [1, 0] };
        for i in order {
            let timing = stands[i].invoke(event.clone()).await;
            check(&timing, false);
            let own = stands[i].overhead(&timing).0;
            if keep {
                into[i].push(own / per);
            }
        }
    }
    let mut lists = [vec![], vec![]];
    for n in 0..sends + 100 {
        both(&stands, n, &send_request(n), n >= 100, 1.0, &mut lists).await;
    }
    [warm[0].single, warm[1].single] = lists;
    let mut lists = [vec![], vec![]];
    for n in 0..sends + 100 {
        both(&stands, n, &http_request(n), n >= 100, 1.0, &mut lists).await;
    }
    [warm[0].http, warm[1].http] = lists;
    let mut lists = [vec![], vec![]];
    for n in 0..sends / 10 + 10 {
        both(&stands, n, &sqs_batch(n), n >= 10, 10.0, &mut lists).await;
    }
    [warm[0].batch, warm[1].batch] = lists;
    for (warm, child) in warm.iter_mut().zip(children.iter_mut()) {
        (warm.rss_after_1k, warm.peak) = rss_mb(child);
        warm.rss_after_10k = warm.rss_after_1k;
        let _ = child.kill();
        let _ = child.wait();
    }
    warm
}

/// Keyed single sends: their overhead (less the provider's and DynamoDB's time), the
/// DynamoDB calls per send, and how many sends wrote their record in the expected order.
struct Keyed {
    overhead: Vec<f64>,
    calls_per_send: f64,
    /// Sends whose record went as expected (see `keyed` and `scheduled`), of all measured.
    as_expected: (usize, usize),
    /// Paced sends: from the claim's last answer to the `sending` update's arrival.
    mark_issued: Vec<f64>,
    /// From the claim's last answer to the provider's request, less DynamoDB's own time
    /// meanwhile (the `sending` update's, when paced).
    claim_to_provider: Vec<f64>,
}

/// Whether a send's DynamoDB calls are a claim written as `sending` at once (and no
/// `sending` update), or, with `paced`, a claim written as `claimed` then one update to
/// `sending`; each followed by the outcome's update.
fn record_went(calls: &[DynamoCall], paced: bool) -> bool {
    let written = |op: &str, state: &str| {
        calls
            .iter()
            .filter(|c| c.op == op && c.state.as_deref() == Some(state))
            .count()
    };
    let done = written("UpdateItem", "done") == 1;
    if paced {
        done && written("PutItem", "claimed") == 1 && written("UpdateItem", "sending") == 1
    } else {
        done && written("PutItem", "sending") == 1 && written("UpdateItem", "sending") == 0
    }
}

/// `sends` keyed single sends back to back (after 100 more), each with a key of its own,
/// against a DynamoDB that answers at once: a claim written as `sending`, the outcome
/// stored after.
async fn keyed(binary: &str, sends: usize) -> Keyed {
    let stand = Stand::start_with(Options {
        fingerprint: true,
        ..Options::default()
    })
    .await;
    let (mut child, _) = stand.spawn(binary, &[("IDEMPOTENCY_TABLE", TABLE.to_string())]);
    let (mut overhead, mut calls, mut expected) = (vec![], 0, 0);
    for n in 0..sends + 100 {
        let timing = stand.invoke(keyed_request(n)).await;
        check(&timing, false);
        let (own, made) = stand.overhead(&timing);
        if n >= 100 {
            overhead.push(own);
            calls += made.dynamo.len();
            expected += usize::from(record_went(&made.dynamo, false));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Keyed {
        overhead,
        calls_per_send: calls as f64 / sends as f64,
        as_expected: (expected, sends),
        mark_issued: vec![],
        claim_to_provider: vec![],
    }
}

/// Keyed sends on a schedule, by two processes of `binary` side by side: one event every
/// `PERIOD` to each, the second's half a period after the first's (a send takes less), so
/// that a noisy moment of the machine hits both alike. DynamoDB answers each call in
/// `DYNAMO_DELAY`. The first process sends at once: its claim writes `sending`. The
/// second has bitbybit paced at one send per `PERIOD` (`BITBYBIT_MAX_RPS`), and every event
/// after its first is handed over `LEAD` before its pacing slot: the slot is ahead when it
/// claims, so it writes `claimed`, but has passed when the claim returns (that takes
/// `DYNAMO_DELAY`), so the send does not wait: all it pays for the slot is the update to
/// `sending`. The difference of the two is that update's cost to us. Gives (at once, paced).
async fn scheduled(binary: &str, sends: usize) -> (Keyed, Keyed) {
    const PERIOD: Duration = Duration::from_millis(40);
    const LEAD: Duration = Duration::from_millis(2);
    const DYNAMO_DELAY: Duration = Duration::from_millis(4);
    let options = Options {
        fingerprint: true,
        dynamo_delay: DYNAMO_DELAY,
        ..Options::default()
    };
    let stands = [
        Stand::start_with(options).await,
        Stand::start_with(options).await,
    ];
    let table = ("IDEMPOTENCY_TABLE", TABLE.to_string());
    let rate = SPACING_MARGIN / PERIOD.as_secs_f64();
    let envs = [
        vec![table.clone()],
        vec![table, ("BITBYBIT_MAX_RPS", format!("{rate}"))],
    ];
    let mut children: Vec<Child> = stands
        .iter()
        .zip(&envs)
        .map(|(stand, env)| stand.spawn(binary, env).0)
        .collect();
    // The processes are up and their clients built before the schedule starts.
    for n in 0..10 {
        for stand in &stands {
            check(&stand.invoke(keyed_request(n)).await, false);
        }
    }
    tokio::time::sleep(PERIOD * 2).await;
    let start = tokio::time::Instant::now();
    let mut keyed: [Keyed; 2] = std::array::from_fn(|_| Keyed {
        overhead: vec![],
        calls_per_send: 0.0,
        as_expected: (0, sends),
        mark_issued: vec![],
        claim_to_provider: vec![],
    });
    let mut calls = [0, 0];
    // The paced process's slots follow its last send that started at once (the first, or
    // one handed over late): each later event is handed over `LEAD` before its slot.
    let mut anchor = (start + PERIOD / 2, 0);
    for k in 0..sends + 50 {
        for (i, stand) in stands.iter().enumerate() {
            let at = match i {
                0 => start + PERIOD * k as u32 - LEAD,
                _ if k == 0 => anchor.0,
                _ => anchor.0 + PERIOD * (k - anchor.1) as u32 - LEAD,
            };
            tokio::time::sleep_until(at).await;
            let timing = stand.invoke(keyed_request(k)).await;
            check(&timing, false);
            let (own, made) = stand.overhead(&timing);
            let at_once = made
                .dynamo
                .iter()
                .any(|c| c.op == "PutItem" && c.state.as_deref() == Some("sending"));
            if i == 1 && at_once {
                anchor = (tokio::time::Instant::from_std(timing.handed), k);
            }
            if k < 50 {
                continue;
            }
            let (paced, keyed) = (i == 1, &mut keyed[i]);
            calls[i] += made.dynamo.len();
            if !record_went(&made.dynamo, paced) {
                continue;
            }
            keyed.as_expected.0 += 1;
            keyed.overhead.push(own);
            let claimed = made
                .dynamo
                .iter()
                .filter(|c| c.op == "GetItem" || c.op == "PutItem")
                .map(|c| c.answered)
                .max();
            let mark = made
                .dynamo
                .iter()
                .find(|c| c.op == "UpdateItem" && c.state.as_deref() == Some("sending"));
            let posted = made.provider.first().map(|(arrived, _)| *arrived);
            if let (Some(claimed), Some(posted)) = (claimed, posted) {
                let inside = mark.map_or(Duration::ZERO, |m| m.answered - m.arrived);
                let gap = posted.saturating_duration_since(claimed);
                keyed.claim_to_provider.push(ms(gap.saturating_sub(inside)));
            }
            if let (Some(claimed), Some(mark)) = (claimed, mark) {
                keyed
                    .mark_issued
                    .push(ms(mark.arrived.saturating_duration_since(claimed)));
            }
        }
    }
    for (keyed, calls) in keyed.iter_mut().zip(calls) {
        keyed.calls_per_send = calls as f64 / sends as f64;
    }
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let [at_once, paced] = keyed;
    (at_once, paced)
}

/// Sends per second of one instance with `concurrency` invocations in flight, against a
/// provider that answers in 100 ms, and the instance's peak RSS.
async fn throughput(binary: &str, concurrency: usize) -> (f64, f64) {
    let stand = Arc::new(Stand::start(Duration::from_millis(100)).await);
    let (mut child, _) = stand.spawn(
        binary,
        &[("AWS_LAMBDA_MAX_CONCURRENCY", concurrency.to_string())],
    );
    check(&stand.invoke(send_request(0)).await, false);
    let per_client = 40;
    let started = Instant::now();
    let clients: Vec<_> = (0..concurrency)
        .map(|c| {
            let stand = stand.clone();
            tokio::spawn(async move {
                for n in 0..per_client {
                    check(&stand.invoke(send_request(c * 1000 + n)).await, false);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let rate = (concurrency * per_client) as f64 / started.elapsed().as_secs_f64();
    let peak = rss_mb(&child).1;
    let _ = child.kill();
    let _ = child.wait();
    (rate, peak)
}

fn size_mb(path: &str) -> Option<f64> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.len() as f64 / 1_000_000.0)
}

/// A row of the table: its label, wa-dispatch's values and the floor's, the percentile of
/// them shown, a scale (ms to µs) and the unit.
type Figure<'a> = (String, &'a [f64], &'a [f64], f64, f64, &'a str);

fn row(what: &str, ours: f64, floor: f64, unit: &str) {
    println!(
        "| {what} | {ours:.2} {unit} | {floor:.2} {unit} | {:.2} |",
        ours / floor
    );
}

/// The median of the rounds' figures and their range, as `m (lo-hi)`.
fn spread(values: &[f64], decimals: usize) -> String {
    format!(
        "{:.d$} ({:.d$}-{:.d$})",
        at(values, 50.0),
        at(values, 0.0),
        at(values, 100.0),
        d = decimals
    )
}

/// Two binaries of wa-dispatch, alternately: in each round `runs` cold starts of each in
/// turn (the order swapped every other start), then `sends` warm sends of each kind, each
/// event to both in turn (`warm_alternately`).
async fn compare(before: &str, after: &str, rounds: usize, runs: usize, sends: usize) {
    #[derive(Default)]
    struct Rounds {
        init: Vec<f64>,
        init_p90: Vec<f64>,
        faults: Vec<f64>,
        cpu: Vec<f64>,
        cold_send: Vec<f64>,
        single: Vec<f64>,
        single_p99: Vec<f64>,
        http: Vec<f64>,
        batch: Vec<f64>,
        rss: Vec<f64>,
    }
    let binaries = [before, after];
    let mut figures = [Rounds::default(), Rounds::default()];
    println!("| round | binary | init p50 | cold send p50 | warm single p50 | warm single p99 | warm HTTP p50 | SQS per send p50 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for round in 1..=rounds {
        let mut cold = [Cold::default(), Cold::default()];
        for run in 0..runs {
            let order = if run.is_multiple_of(2) {
                [0, 1]
            } else {
                [1, 0]
            };
            for i in order {
                cold[i].start_once(binaries[i], false, &[]).await;
            }
        }
        let warm = warm_alternately(binaries, sends).await;
        for (i, w) in warm.iter().enumerate() {
            let f = &mut figures[i];
            f.init.push(at(&cold[i].init, 50.0));
            f.init_p90.push(at(&cold[i].init, 90.0));
            f.faults.push(at(&cold[i].faults, 50.0));
            f.cpu.push(at(&cold[i].cpu, 50.0));
            f.cold_send.push(at(&cold[i].first, 50.0));
            f.single.push(at(&w.single, 50.0) * 1000.0);
            f.single_p99.push(at(&w.single, 99.0) * 1000.0);
            f.http.push(at(&w.http, 50.0) * 1000.0);
            f.batch.push(at(&w.batch, 50.0) * 1000.0);
            f.rss.push(w.rss_after_1k);
            println!(
                "| {round} | {} | {:.2} ms | {:.2} ms | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs |",
                ["before", "after"][i],
                f.init.last().unwrap(),
                f.cold_send.last().unwrap(),
                f.single.last().unwrap(),
                f.single_p99.last().unwrap(),
                f.http.last().unwrap(),
                f.batch.last().unwrap(),
            );
        }
    }
    println!();
    println!("before: {before}");
    println!("after:  {after}");
    println!();
    println!(
        "| figure, median of {rounds} rounds (range) | before | after | change of the medians | change in each round: median (range) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let [b, a] = &figures;
    let line = |what: &str, b: &[f64], a: &[f64], unit: &str, decimals: usize| {
        let change = at(a, 50.0) / at(b, 50.0) - 1.0;
        let each: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(a, b)| (a / b - 1.0) * 100.0)
            .collect();
        println!(
            "| {what} | {} {unit} | {} {unit} | {:+.1}% | {:+.1}% ({:+.1}% to {:+.1}%) |",
            spread(b, decimals),
            spread(a, decimals),
            change * 100.0,
            at(&each, 50.0),
            at(&each, 0.0),
            at(&each, 100.0),
        );
    };
    line(
        &format!("init: start to first `/next`, median of {runs} per round"),
        &b.init,
        &a.init,
        "ms",
        2,
    );
    line("init, p90 per round", &b.init_p90, &a.init_p90, "ms", 2);
    line(
        "minor page faults by the first `/next`, median per round",
        &b.faults,
        &a.faults,
        "",
        0,
    );
    line(
        "CPU time of all threads by the first `/next`, median per round",
        &b.cpu,
        &a.cpu,
        "ms",
        2,
    );
    line(
        "cold send: start to the first send's answer, median per round",
        &b.cold_send,
        &a.cold_send,
        "ms",
        2,
    );
    line(
        &format!("warm overhead per single send, p50 of {sends} per round"),
        &b.single,
        &a.single,
        "µs",
        1,
    );
    line(
        "warm overhead per single send, p99 per round",
        &b.single_p99,
        &a.single_p99,
        "µs",
        1,
    );
    line(
        "warm overhead per single send over HTTP (API Gateway v2), p50",
        &b.http,
        &a.http,
        "µs",
        1,
    );
    line(
        "warm overhead per send in SQS batches of 10, p50",
        &b.batch,
        &a.batch,
        "µs",
        1,
    );
    line("RSS after the warm sends", &b.rss, &a.rss, "MB", 2);
    match (size_mb(before), size_mb(after)) {
        (Some(b), Some(a)) => println!(
            "| binary size, x86_64 release, stripped | {b:.2} MB | {a:.2} MB | {:+.1}% | |",
            (a / b - 1.0) * 100.0
        ),
        _ => println!("| binary size | missing | | |"),
    }
}

/// The keyed sends' table: the idempotency record in the stand's DynamoDB (its own time,
/// like the provider's, is not counted), beside the unkeyed single sends.
fn keyed_table(keyed: &Keyed, at_once: &Keyed, paced: &Keyed, unkeyed: &[f64], sends: usize) {
    println!();
    println!("| keyed single sends (`IDEMPOTENCY_TABLE`, DynamoDB played on loopback) | p50 | p99 | DynamoDB calls per send | records as expected |");
    println!("| --- | --- | --- | --- | --- |");
    let us = |values: &[f64], p: f64| at(values, p) * 1000.0;
    println!(
        "| unkeyed single send (above), back to back | {:.2} µs | {:.2} µs | 0 | |",
        us(unkeyed, 50.0),
        us(unkeyed, 99.0)
    );
    let keyed_row = |what: &str, k: &Keyed| {
        println!(
            "| {what} | {:.2} µs | {:.2} µs | {:.2} | {} of {} |",
            us(&k.overhead, 50.0),
            us(&k.overhead, 99.0),
            k.calls_per_send,
            k.as_expected.0,
            k.as_expected.1
        );
    };
    keyed_row(
        &format!("keyed, back to back: claimed as `sending` (PutItem beside the legacy GetItem), outcome stored (UpdateItem); p50 of {sends}"),
        keyed,
    );
    keyed_row(
        "keyed, one send every 40 ms, DynamoDB answering in 4 ms: starts at once, claimed as `sending`",
        at_once,
    );
    keyed_row(
        "the same, bitbybit paced so that the slot is ahead at the claim: claimed, then marked `sending` (one more UpdateItem)",
        paced,
    );
    let extra = us(&paced.overhead, 50.0) - us(&at_once.overhead, 50.0);
    println!(
        "| the extra `sending` write: paced less at once (DynamoDB's own 4 ms not counted) | {extra:.2} µs ({:+.0}% of the keyed send at once) | {:.2} µs | | |",
        extra / us(&at_once.overhead, 50.0) * 100.0,
        us(&paced.overhead, 99.0) - us(&at_once.overhead, 99.0),
    );
    println!(
        "| from the claim's answer to the provider's request (less the update's 4 ms): at once, paced | {:.2} µs, {:.2} µs | {:.2} µs, {:.2} µs | | paced: the update arrives {:.2} µs (p50) after the claim's answer |",
        us(&at_once.claim_to_provider, 50.0),
        us(&paced.claim_to_provider, 50.0),
        us(&at_once.claim_to_provider, 99.0),
        us(&paced.claim_to_provider, 99.0),
        us(&paced.mark_issued, 50.0),
    );
}

#[tokio::main]
async fn main() {
    let mut args: HashMap<String, String> = HashMap::new();
    let mut argv = std::env::args().skip(1);
    while let (Some(k), Some(v)) = (argv.next(), argv.next()) {
        args.insert(k.trim_start_matches("--").to_string(), v);
    }
    // Where cargo put the binaries: `CARGO_TARGET_DIR` when set, as cargo reads it.
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(|dir| match dir.starts_with('/') {
            true => dir,
            false => format!("{ROOT}/{dir}"),
        })
        .unwrap_or(format!("{ROOT}/target"));
    let function = args
        .get("function")
        .cloned()
        .unwrap_or(format!("{target}/release/wa-dispatch"));
    let floor = args
        .get("floor")
        .cloned()
        .unwrap_or(format!("{target}/release/examples/floor"));
    let arm64 = args
        .get("arm64")
        .cloned()
        .unwrap_or(format!("{target}/lambda/wa-dispatch/bootstrap"));
    let number = |name: &str, default: usize| -> usize {
        args.get(name)
            .and_then(|r| r.parse().ok())
            .unwrap_or(default)
    };
    let runs = number("runs", 20);
    let sends = number("sends", 1000);
    let paced_sends = number("paced-sends", 500);

    if let Some(before) = args.get("compare") {
        compare(before, &function, number("rounds", 7), runs, sends).await;
        return;
    }

    if args.get("only").map(String::as_str) == Some("scale") {
        scale::table(&function).await;
        return;
    }
    if args.get("only").map(String::as_str) == Some("webhooks") {
        webhooks::table(&function, &floor, runs, sends).await;
        return;
    }
    if args.get("only").map(String::as_str) == Some("keyed") {
        let unkeyed = warm(&function, sends, false, false).await;
        let keyed_ours = keyed(&function, sends).await;
        let (at_once, paced) = scheduled(&function, paced_sends).await;
        keyed_table(&keyed_ours, &at_once, &paced, &unkeyed.single, sends);
        return;
    }

    // Interleaved cold starts, so that a noisy moment hits all alike.
    let (mut ours, mut base, mut ahead) = (Cold::default(), Cold::default(), Cold::default());
    let mut send_floor = Cold::default();
    let send_mode = [("FLOOR", "send".to_string())];
    let provisioned = [(
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "provisioned-concurrency".to_string(),
    )];
    for _ in 0..runs {
        ours.start_once(&function, false, &[]).await;
        base.start_once(&floor, true, &[]).await;
        send_floor.start_once(&floor, true, &send_mode).await;
        ahead.start_once(&function, false, &provisioned).await;
    }
    let warm_ours = warm(&function, sends, false, true).await;
    let warm_floor = warm(&floor, sends, true, true).await;
    let keyed_ours = keyed(&function, sends).await;
    let (at_once, paced) = scheduled(&function, paced_sends).await;

    let b = format!("{} batches", warm_ours.batch.len());
    let rss = |w: &Warm| [[w.rss_after_1k], [w.rss_after_10k], [w.peak]];
    let (rss_ours, rss_floor) = (rss(&warm_ours), rss(&warm_floor));
    let figures: Vec<Figure> = vec![
        (format!("init: start to first `/next`, median of {runs}"), &ours.init, &base.init, 50.0, 1.0, "ms"),
        (format!("init, p90 of {runs}"), &ours.init, &base.init, 90.0, 1.0, "ms"),
        ("cold send: start to the first send's answer (floor: to its first answer), median".into(), &ours.first, &base.first, 50.0, 1.0, "ms"),
        ("first invocation alone, on demand: event to answer".into(), &ours.invocation, &base.invocation, 50.0, 1.0, "ms"),
        ("init ahead of traffic (provisioned concurrency, Managed Instances: metadata preloaded)".into(), &ahead.init, &base.init, 50.0, 1.0, "ms"),
        ("first invocation alone after such an init".into(), &ahead.invocation, &base.invocation, 50.0, 1.0, "ms"),
        (format!("warm overhead per single send, p50 of {sends} (floor: whole invocation)"), &warm_ours.single, &warm_floor.single, 50.0, 1000.0, "µs"),
        ("warm overhead per single send, p99".into(), &warm_ours.single, &warm_floor.single, 99.0, 1000.0, "µs"),
        (format!("warm overhead per single send over HTTP (API Gateway v2 `POST /v1/messages`), p50 of {sends}"), &warm_ours.http, &warm_floor.http, 50.0, 1000.0, "µs"),
        ("warm overhead per single send over HTTP, p99".into(), &warm_ours.http, &warm_floor.http, 99.0, 1000.0, "µs"),
        (format!("warm overhead per send in SQS batches of 10, p50 of {b}"), &warm_ours.batch, &warm_floor.batch, 50.0, 1000.0, "µs"),
        ("warm overhead per send in SQS batches of 10, p99".into(), &warm_ours.batch, &warm_floor.batch, 99.0, 1000.0, "µs"),
        ("RSS after the warm sends".into(), &rss_ours[0], &rss_floor[0], 50.0, 1.0, "MB"),
        ("RSS after 10,000 more sends".into(), &rss_ours[1], &rss_floor[1], 50.0, 1.0, "MB"),
        ("peak RSS".into(), &rss_ours[2], &rss_floor[2], 50.0, 1.0, "MB"),
    ];
    println!("| figure | wa-dispatch | floor | ratio |");
    println!("| --- | --- | --- | --- |");
    for (what, ours, floor, p, scale, unit) in figures {
        row(&what, at(ours, p) * scale, at(floor, p) * scale, unit);
    }
    // The same cold send beside the send floor, which does the same work: one
    // GetSecretValue and one POST to the provider on its first event.
    let median = |values: &[f64]| at(values, 50.0);
    println!();
    println!(
        "| cold send, beside the send floor (`FLOOR=send`) | wa-dispatch | send floor | ratio |"
    );
    println!("| --- | --- | --- | --- |");
    row(
        &format!("cold send: start to the first send's answer, secret fetched, median of {runs}"),
        median(&ours.first),
        median(&send_floor.first),
        "ms",
    );
    row(
        "cold send, p90",
        at(&ours.first, 90.0),
        at(&send_floor.first, 90.0),
        "ms",
    );
    row(
        "first invocation alone, on demand: event to answer, median",
        median(&ours.invocation),
        median(&send_floor.invocation),
        "ms",
    );
    let grew = warm_ours.rss_after_10k - warm_ours.rss_after_1k;
    println!(
        "| RSS growth over 10,000 sends | {grew:+.2} MB ({}) | {:+.2} MB | |",
        if grew <= 0.5 { "flat" } else { "GROWS" },
        warm_floor.rss_after_10k - warm_floor.rss_after_1k
    );
    match (size_mb(&function), size_mb(&floor)) {
        (Some(a), Some(b)) => row("binary size, x86_64 release, stripped", a, b, "MB"),
        _ => println!("| binary size | missing | | |"),
    }
    match size_mb(&arm64) {
        Some(a) => println!(
            "| arm64 artifact (`{}`) | {a:.2} MB | | |",
            arm64.trim_start_matches(ROOT).trim_start_matches('/')
        ),
        None => println!("| arm64 artifact | not built (`bash scripts/build-lambda.sh`) | | |"),
    }

    keyed_table(&keyed_ours, &at_once, &paced, &warm_ours.single, sends);
    webhooks::table(&function, &floor, runs, sends).await;
    scale::table(&function).await;

    println!();
    println!(
        "| AWS_LAMBDA_MAX_CONCURRENCY | sends per second (provider answers in 100 ms) | peak RSS |"
    );
    println!("| --- | --- | --- |");
    for concurrency in [1, 4, 16] {
        let (rate, peak) = throughput(&function, concurrency).await;
        println!("| {concurrency} | {rate:.1} | {peak:.2} MB |");
    }
}
