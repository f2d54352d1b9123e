//! One limit across instances (docs/performance.md, "One limit across instances"): several
//! instances of the release binary drain one queue of SQS batches of 10 from the stand,
//! sharing the provider's limit through `RATE_LIMIT_TABLE` (played by the stand, each call
//! answered after `DYNAMO_DELAY`, about DynamoDB's own time), against a provider stand-in
//! that enforces the limit strictly: past it in any sliding second it answers as the
//! provider does (Meta 130429, autocalls 429), counting refused requests too. Printed: the
//! share of the limit reached, the busiest sliding second, the throttling answers, the
//! table's writes per send, and the wait of HTTP sends made while the queue drains. Then a
//! warm single send with the table and without it, its limit idle.
//!
//!     bench --only scale [--function PATH]     (SCALE_TRACE=1: each drain's arrival times too)

use super::*;

/// The rate-limit table the function names (`RATE_LIMIT_TABLE`).
pub const RATE_TABLE: &str = "wa-dispatch-bench-rate-limit";

/// HTTP sends made while the queue drains.
const HTTP_SENDS: usize = 5;

/// About what a DynamoDB write takes from Lambda in the same region.
const DYNAMO_DELAY: Duration = Duration::from_millis(5);

/// The rate-limit table's items (`next_us`, `expires_at`) and its calls.
static TABLE: Mutex<Option<HashMap<String, (u64, u64)>>> = Mutex::new(None);
static WRITES: AtomicUsize = AtomicUsize::new(0);
static REFUSED: AtomicUsize = AtomicUsize::new(0);

fn number(request: &Value, name: &str) -> u64 {
    request["ExpressionAttributeValues"][name]["N"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The two writes the shared limit makes, as DynamoDB answers them: appended to a backlog
/// (`next_us = next_us + :span` if `next_us BETWEEN :now AND :last`), or started anew (`next_us
/// = :end` if it is absent or past); `UPDATED_NEW` on success, the item on a failed condition.
pub fn rate_table(op: &str, request: &Value) -> (u16, Value, Option<String>) {
    if op != "UpdateItem" {
        let kind = "com.amazonaws.dynamodb.v20120810#UnknownOperationException";
        return (400, json!({"__type": kind, "message": op}), None);
    }
    WRITES.fetch_add(1, Ordering::Relaxed);
    let id = request["Key"]["id"]["S"].as_str().unwrap_or("").to_string();
    let mut table = TABLE.lock().unwrap();
    let items = table.get_or_insert_with(HashMap::new);
    let current = items.get(&id).map(|(next, _)| *next);
    let expression = request["UpdateExpression"].as_str().unwrap_or("");
    let now = number(request, ":now");
    let next = match (expression.contains("next_us + :span"), current) {
        (true, Some(next)) if next >= now && next <= number(request, ":last") => {
            Some(next + number(request, ":span"))
        }
        (false, None) => Some(number(request, ":end")),
        (false, Some(next)) if next < now => Some(number(request, ":end")),
        _ => None,
    };
    match next {
        Some(next) => {
            items.insert(id, (next, number(request, ":exp")));
            let attributes = json!({"next_us": {"N": next.to_string()},
                                    "expires_at": {"N": number(request, ":exp").to_string()}});
            (200, json!({ "Attributes": attributes }), None)
        }
        None => {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            let kind = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException";
            let mut error = json!({"__type": kind, "message": "The conditional request failed"});
            if let Some(next) = current {
                error["Item"] = json!({"id": {"S": id}, "next_us": {"N": next.to_string()}});
            }
            (400, error, None)
        }
    }
}

/// A provider that enforces `limit` sends in any sliding second, strictly.
struct Strict {
    arrivals: Mutex<Vec<Instant>>,
    throttled: AtomicUsize,
}

async fn strict_provider(
    provider: &'static str,
    limit: usize,
    delay: Duration,
) -> (Arc<Strict>, String) {
    let strict = Arc::new(Strict {
        arrivals: Mutex::default(),
        throttled: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving = strict.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let strict = serving.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_: Request<Incoming>| {
                    let strict = strict.clone();
                    async move {
                        let now = Instant::now();
                        let over = {
                            let mut arrivals = strict.arrivals.lock().unwrap();
                            arrivals.push(now);
                            let second = Duration::from_secs(1);
                            arrivals
                                .iter()
                                .rev()
                                .take_while(|t| now - **t < second)
                                .count()
                                > limit
                        };
                        tokio::time::sleep(delay).await;
                        if over {
                            strict.throttled.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok::<_, hyper::Error>(answer(provider, over))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (strict, url)
}

fn answer(provider: &str, throttled: bool) -> Response<Full<Bytes>> {
    match (provider, throttled) {
        ("meta", false) => json_answer(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [{"input": "+14155551234", "wa_id": "14155551234"}],
                   "messages": [{"id": "wamid.BENCH", "message_status": "accepted"}]}),
        ),
        ("meta", true) => json_answer(
            400,
            json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429}}),
        ),
        (_, false) => json_answer(
            200,
            json!({"success": true, "conversation_id": 1234, "message_id": 567,
                   "whatsapp_message_id": 890, "message_sid": "SMBENCH", "status": "queued"}),
        ),
        (_, true) => json_answer(429, json!({"success": false, "error": "Too many requests"})),
    }
}

fn request(provider: &str, n: usize) -> Value {
    match provider {
        "meta" => json!({"provider": "meta", "to": "+1 415 555 0100", "template": "order_update",
                         "variables": [format!("m-{n}")], "client_reference": format!("scale-{n}")}),
        _ => json!({"provider": "autocalls", "to": "+1 415 555 0100", "template": 45,
                    "variables": [format!("m-{n}")], "client_reference": format!("scale-{n}")}),
    }
}

fn batch(provider: &str, first: usize, count: usize) -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/events/sqs-batch.json")).unwrap();
    let sample = serde_json::from_str::<Value>(&text).unwrap()["Records"][0].clone();
    let records: Vec<Value> = (first..first + count)
        .map(|n| {
            let mut record = sample.clone();
            record["messageId"] = json!(format!("scale-{n}"));
            record["body"] = json!(request(provider, n).to_string());
            record
        })
        .collect();
    json!({ "Records": records })
}

fn http(provider: &str, n: usize) -> Value {
    let mut event = http_request(n);
    event["body"] = json!(request(provider, n).to_string());
    event
}

/// One drain's figures.
struct Drain {
    reached: f64,
    busiest: usize,
    throttled: usize,
    writes_per_send: f64,
    /// Writes whose condition failed (another instance's write came between), per send.
    conflicts_per_send: f64,
    failed: usize,
    http_wait: Vec<f64>,
}

/// `instances` processes drain `messages` sends to `provider` at `limit` per second.
async fn drain(
    binary: &str,
    provider: &'static str,
    limit: usize,
    instances: usize,
    messages: usize,
) -> Drain {
    let stand = Arc::new(
        Stand::start_with(Options {
            dynamo_delay: DYNAMO_DELAY,
            ..Options::default()
        })
        .await,
    );
    let (strict, url) = strict_provider(provider, limit, Duration::from_millis(40)).await;
    *TABLE.lock().unwrap() = None;
    let upper = provider.to_ascii_uppercase();
    let vars = [
        ("RATE_LIMIT_TABLE", RATE_TABLE.to_string()),
        (leak(format!("{upper}_BASE_URL")), url),
        (leak(format!("{upper}_MAX_RPS")), limit.to_string()),
        ("PROVIDER_TIMEOUT_MS", "5000".to_string()),
    ];
    // Instances beside the queue's: where HTTP sends land, as Lambda starts them while the
    // event source mapping keeps `instances` batches in flight.
    let mut children: Vec<Child> = (0..instances + HTTP_SENDS)
        .map(|_| stand.spawn(binary, &vars).0)
        .collect();
    let writes_before = WRITES.load(Ordering::Relaxed);
    let refused_before = REFUSED.load(Ordering::Relaxed);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(instances));
    let batches: Vec<_> = (0..messages.div_ceil(10))
        .map(|b| {
            let (stand, in_flight) = (stand.clone(), in_flight.clone());
            let event = batch(provider, b * 10, 10.min(messages - b * 10));
            tokio::spawn(async move {
                let _permit = in_flight.acquire().await.unwrap();
                stand.invoke(event).await
            })
        })
        .collect();
    // HTTP sends while the queue drains at the limit, one every 700 ms: each waits for its
    // slot behind the queue's.
    let mut https = vec![];
    for n in 0..HTTP_SENDS {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let stand = stand.clone();
        https.push(tokio::spawn(async move {
            stand.invoke(http(provider, 1_000_000 + n)).await
        }));
    }
    let mut http_wait = vec![];
    for http in https {
        let timing = http.await.unwrap();
        http_wait.push(ms(timing.answered - timing.handed));
    }
    let mut failed = 0;
    for batch in batches {
        let timing = batch.await.unwrap();
        failed += timing.answer["batchItemFailures"]
            .as_array()
            .map_or(1, Vec::len);
    }
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let arrivals = strict.arrivals.lock().unwrap().clone();
    if std::env::var("SCALE_TRACE").is_ok() {
        let offsets: Vec<u128> = arrivals
            .iter()
            .map(|t| (*t - arrivals[0]).as_millis())
            .collect();
        eprintln!("{provider} {instances}: {offsets:?}");
    }
    let sent = arrivals.len() - strict.throttled.load(Ordering::Relaxed);
    let span = (arrivals[arrivals.len() - 1] - arrivals[0]).as_secs_f64();
    Drain {
        // `sent - 1` intervals over the span: a queue at the limit reaches 1.0.
        reached: (sent - 1) as f64 / span / limit as f64,
        busiest: arrivals::busiest(&arrivals),
        throttled: strict.throttled.load(Ordering::Relaxed),
        writes_per_send: (WRITES.load(Ordering::Relaxed) - writes_before) as f64 / sent as f64,
        conflicts_per_send: (REFUSED.load(Ordering::Relaxed) - refused_before) as f64 / sent as f64,
        failed,
        http_wait,
    }
}

mod arrivals {
    use std::time::{Duration, Instant};

    /// The most arrivals in any sliding second.
    pub fn busiest(times: &[Instant]) -> usize {
        let mut sorted = times.to_vec();
        sorted.sort();
        let (mut most, mut start) = (0, 0);
        for end in 0..sorted.len() {
            while sorted[end] - sorted[start] >= Duration::from_secs(1) {
                start += 1;
            }
            most = most.max(end - start + 1);
        }
        most
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// A warm single send with the table and without it, its limit idle (one send every 50 ms
/// at a limit of 100/s), the provider answering at once: p50 of `sends`, event to answer.
async fn idle_send(binary: &str, table: bool, sends: usize) -> f64 {
    let stand = Stand::start_with(Options {
        dynamo_delay: DYNAMO_DELAY,
        ..Options::default()
    })
    .await;
    let (_, url) = strict_provider("autocalls", 1000, Duration::ZERO).await;
    let mut vars = vec![
        ("AUTOCALLS_BASE_URL", url),
        ("AUTOCALLS_MAX_RPS", "100".to_string()),
    ];
    if table {
        vars.push(("RATE_LIMIT_TABLE", RATE_TABLE.to_string()));
    }
    let (mut child, _) = stand.spawn(binary, &vars);
    let mut total = vec![];
    for n in 0..sends {
        let timing = stand.invoke(request("autocalls", n)).await;
        if n > 0 {
            total.push(ms(timing.answered - timing.handed));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    at(&total, 50.0)
}

pub async fn table(binary: &str) {
    println!();
    println!("| one limit across instances (`RATE_LIMIT_TABLE`), queue in SQS batches of 10 | share of the limit reached | busiest second | throttling answers | table writes per send (of them refused by their condition) | records failed | an HTTP send's wait meanwhile, median |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (provider, limit, instances, messages) in [
        ("meta", 80, 4, 800),
        ("meta", 80, 8, 800),
        ("autocalls", 5, 4, 60),
        ("autocalls", 5, 8, 60),
        ("meta", 1000, 8, 5000),
    ] {
        let d = drain(binary, provider, limit, instances, messages).await;
        println!(
            "| {provider} at {limit}/s, {instances} instances, {messages} sends | {:.3} | {} | {} | {:.3} ({:.3}) | {} | {:.1} s |",
            d.reached,
            d.busiest,
            d.throttled,
            d.writes_per_send,
            d.conflicts_per_send,
            d.failed,
            at(&d.http_wait, 50.0) / 1000.0
        );
    }
    let sends = 100;
    let without = idle_send(binary, false, sends).await;
    let with = idle_send(binary, true, sends).await;
    println!();
    println!("| warm single send, its limit idle, event to answer, p50 of {sends} | without the table | with it | added |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| the provider answering at once, the table's write in {} ms | {without:.2} ms | {with:.2} ms | {:+.2} ms |",
        DYNAMO_DELAY.as_millis(),
        with - without
    );
}
