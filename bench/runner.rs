//! The benchmark runner (`bash bench/run.sh` builds it and runs it). It starts the release
//! binary of wa-dispatch and of the floor (`bench/floor.rs`) under a Lambda Runtime API
//! stand-in on loopback, which is also the Secrets Manager API and the bitbybit provider,
//! and prints every figure beside the floor's. Times are this machine's, not Lambda's:
//! read the ratios.
//!
//!     bench [--function PATH] [--floor PATH] [--arm64 PATH] [--runs N]

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

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

/// One function process's world: its Runtime API, its Secrets Manager, its provider.
struct World {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    pending: Mutex<HashMap<String, (Instant, oneshot::Sender<Timing>)>>,
    first_poll: Mutex<Option<Instant>>,
    /// The provider's own time: from a request's arrival to its answer.
    provider: Mutex<Vec<(Instant, Instant)>>,
    provider_delay: Duration,
}

struct Stand {
    world: Arc<World>,
    events: mpsc::UnboundedSender<Event>,
    addr: SocketAddr,
    next: AtomicUsize,
}

impl Stand {
    async fn start(provider_delay: Duration) -> Stand {
        let (events, queue) = mpsc::unbounded_channel();
        let world = Arc::new(World {
            queue: tokio::sync::Mutex::new(queue),
            pending: Mutex::default(),
            first_poll: Mutex::default(),
            provider: Mutex::default(),
            provider_delay,
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
        (command.spawn().expect("start the function"), started)
    }

    async fn invoke(&self, body: Value) -> Timing {
        let id = format!("bench-{}", self.next.fetch_add(1, Ordering::Relaxed));
        let (reply, answer) = oneshot::channel();
        self.events.send(Event { id, body, reply }).unwrap();
        tokio::time::timeout(Duration::from_secs(60), answer)
            .await
            .expect("the function answered")
            .expect("answer channel")
    }

    /// Provider time inside `[from, to]` (the union of request intervals), and forgets them.
    fn provider_time(&self, from: Instant, to: Instant) -> Duration {
        let mut spans = std::mem::take(&mut *self.world.provider.lock().unwrap());
        spans.sort();
        let (mut total, mut end) = (Duration::ZERO, from);
        for (a, b) in spans {
            let (a, b) = (a.max(end), b.min(to));
            if b > a {
                total += b - a;
                end = b;
            }
        }
        total
    }
}

async fn serve(
    world: Arc<World>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let arrived = Instant::now();
    let path = req.uri().path().to_string();
    if path.ends_with("/runtime/invocation/next") {
        world.first_poll.lock().unwrap().get_or_insert(arrived);
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
        .map(|v| v.as_bytes().to_vec());
    let body = req.into_body().collect().await?.to_bytes();
    if target.as_deref() == Some(b"secretsmanager.GetSecretValue") {
        let secret = std::fs::read_to_string(format!("{ROOT}/local/secrets.json")).unwrap();
        let answer = json!({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:wa-dispatch/providers-AbCdEf",
            "Name": "wa-dispatch/providers", "SecretString": secret, "VersionId": "v1", "CreatedDate": 1.7e9});
        return Ok(json_answer(200, answer));
    }
    if path.ends_with("/messages/send-template") {
        tokio::time::sleep(world.provider_delay).await;
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

/// A send answered 200, or a batch with no failures; the floor's echo passes as is.
fn check(timing: &Timing, floor: bool) {
    let a = &timing.answer;
    let ok = floor || a["http_status"] == 200 || a["batchItemFailures"] == json!([]);
    assert!(ok, "the function did not send: {a}");
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
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
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
        let _ = child.kill();
        let _ = child.wait();
    }
}

struct Warm {
    single: Vec<f64>,
    batch: Vec<f64>,
    rss_after_1k: f64,
    rss_after_10k: f64,
    peak: f64,
}

/// Per-send time minus the provider's own time, over `sends` single sends and as many sends
/// in SQS batches of 10; then the resident memory over 10,000 more sends.
async fn warm(binary: &str, sends: usize, floor: bool) -> Warm {
    let stand = Stand::start(Duration::ZERO).await;
    let (mut child, _) = stand.spawn(binary, &[]);
    let overhead = |timing: &Timing| {
        ms(timing.answered - timing.handed)
            - ms(stand.provider_time(timing.handed, timing.answered))
    };
    for n in 0..100 {
        check(&stand.invoke(send_request(n)).await, floor);
    }
    let mut single = vec![];
    for n in 0..sends {
        let timing = stand.invoke(send_request(n)).await;
        check(&timing, floor);
        single.push(overhead(&timing));
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
    for n in 0..10_000 {
        check(&stand.invoke(send_request(n)).await, floor);
    }
    let (rss_after_10k, peak) = rss_mb(&child);
    let _ = child.kill();
    let _ = child.wait();
    Warm {
        single,
        batch,
        rss_after_1k,
        rss_after_10k,
        peak,
    }
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

#[tokio::main]
async fn main() {
    let mut args: HashMap<String, String> = HashMap::new();
    let mut argv = std::env::args().skip(1);
    while let (Some(k), Some(v)) = (argv.next(), argv.next()) {
        args.insert(k.trim_start_matches("--").to_string(), v);
    }
    let function = args
        .get("function")
        .cloned()
        .unwrap_or(format!("{ROOT}/target/release/wa-dispatch"));
    let floor = args
        .get("floor")
        .cloned()
        .unwrap_or(format!("{ROOT}/target/release/examples/floor"));
    let arm64 = args
        .get("arm64")
        .cloned()
        .unwrap_or(format!("{ROOT}/target/lambda/wa-dispatch/bootstrap"));
    let runs: usize = args.get("runs").and_then(|r| r.parse().ok()).unwrap_or(20);
    let sends: usize = args
        .get("sends")
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);

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
    let warm_ours = warm(&function, sends, false).await;
    let warm_floor = warm(&floor, sends, true).await;

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
        (format!("warm overhead per send in SQS batches of 10, p50 of {b}"), &warm_ours.batch, &warm_floor.batch, 50.0, 1000.0, "µs"),
        ("warm overhead per send in SQS batches of 10, p99".into(), &warm_ours.batch, &warm_floor.batch, 99.0, 1000.0, "µs"),
        ("RSS after the warm sends".into(), &rss_ours[0], &rss_floor[0], 50.0, 1.0, "MB"),
        ("RSS after 10,000 more sends".into(), &rss_ours[1], &rss_floor[1], 50.0, 1.0, "MB"),
        ("peak RSS".into(), &rss_ours[2], &rss_floor[2], 50.0, 1.0, "MB"),
    ];
    println!("| figure | wa-dispatch | floor | ratio |");
    println!("| --- | --- | --- | --- |");
    for (what, ours, floor, p, scale, unit) in figures {
        let at = |values: &[f64]| percentile(&mut values.to_vec(), p) * scale;
        row(&what, at(ours), at(floor), unit);
    }
    // The same cold send beside the send floor, which does the same work: one
    // GetSecretValue and one POST to the provider on its first event.
    let median = |values: &[f64]| percentile(&mut values.to_vec(), 50.0);
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
        percentile(&mut ours.first.clone(), 90.0),
        percentile(&mut send_floor.first.clone(), 90.0),
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
