//! Delivery-status webhooks (docs/statuses.md): a verified Meta webhook of 1 and of 100
//! statuses, cold and warm, beside the webhook floor (`bench/floor.rs`, `FLOOR=webhook`:
//! the HMAC checked and the events put, nothing else). wa-dispatch runs with `STATUS_TABLE`
//! and `STATUS_EVENT_BUS`, both played by the stand; every status is of a message of its
//! own, so each moves its record forward, as a first status does, and is published: per
//! status one conditional `UpdateItem` and, once on the bus, one more to clear it from
//! `pending`; ten statuses a `PutEvents`.

use super::*;

/// Statuses in the large webhook.
const MANY: usize = 100;

/// The status table as the stand plays it. Every status of these runs is the first of its
/// message, so every condition holds (as it would in DynamoDB): an `UpdateItem` answers
/// the values it set (with `ALL_NEW`, about what DynamoDB would give back), a `GetItem`
/// finds nothing.
pub fn status_table(op: &str, request: &Value) -> (u16, Value, Option<String>) {
    match op {
        "UpdateItem" if request["ReturnValues"] == "ALL_NEW" => {
            let mut item = Map::new();
            item.insert("id".into(), request["Key"]["id"].clone());
            for (name, value) in request["ExpressionAttributeValues"]
                .as_object()
                .into_iter()
                .flatten()
            {
                item.insert(name.trim_start_matches(':').to_string(), value.clone());
            }
            (200, json!({ "Attributes": item }), None)
        }
        "UpdateItem" | "GetItem" => (200, json!({}), None),
        _ => (
            400,
            json!({"__type": "com.amazonaws.dynamodb.v20120810#UnknownOperationException", "message": op}),
            None,
        ),
    }
}

/// What the function and the floor are started with.
fn env() -> Vec<(&'static str, String)> {
    vec![
        ("STATUS_TABLE", STATUS_TABLE.to_string()),
        ("STATUS_EVENT_BUS", STATUS_BUS.to_string()),
    ]
}

fn floor_env() -> Vec<(&'static str, String)> {
    let mut env = env();
    env.push(("FLOOR", "webhook".to_string()));
    env
}

/// Meta's published example of a `delivered` status (events/webhooks/meta-delivered.json)
/// with `count` statuses, each of a message of its own (webhook `n`, status `i`), dated now
/// (the example's own date is older than `WEBHOOK_MAX_AGE_SECONDS`: stale, it would be
/// neither stored nor published).
fn meta_webhook(n: usize, count: usize) -> String {
    static EXAMPLE: OnceLock<Value> = OnceLock::new();
    let example = EXAMPLE.get_or_init(|| {
        let text =
            std::fs::read_to_string(format!("{ROOT}/events/webhooks/meta-delivered.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    });
    let mut payload = example.clone();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let value = &mut payload["entry"][0]["changes"][0]["value"];
    let status = value["statuses"][0].clone();
    value["statuses"] = (0..count)
        .map(|i| {
            let mut status = status.clone();
            status["id"] = json!(format!("wamid.BENCH-{n}-{i}"));
            status["timestamp"] = json!(now.to_string());
            status
        })
        .collect();
    payload.to_string()
}

/// The webhook as API Gateway (HTTP API, payload v2) hands it over, signed with the app
/// secret of local/secrets.json.
fn webhook_event(n: usize, count: usize) -> Value {
    static SECRET: OnceLock<String> = OnceLock::new();
    let secret = SECRET.get_or_init(|| {
        let text = std::fs::read_to_string(format!("{ROOT}/local/secrets.json")).unwrap();
        let secret: Value = serde_json::from_str(&text).unwrap();
        secret["meta"]["app_secret"].as_str().unwrap().to_string()
    });
    let body = meta_webhook(n, count);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let signature = hex::encode(aws_lc_rs::hmac::sign(&key, body.as_bytes()).as_ref());
    let mut event = http_request(n);
    event["rawPath"] = json!("/prod/v1/webhooks/meta");
    event["routeKey"] = json!("$default");
    event["requestContext"]["routeKey"] = json!("$default");
    event["requestContext"]["http"]["path"] = json!("/prod/v1/webhooks/meta");
    event["requestContext"]["requestId"] = json!(format!("bench-webhook-{n}"));
    event["headers"]["x-hub-signature-256"] = json!(format!("sha256={signature}"));
    event["body"] = json!(body);
    event
}

/// A webhook answered 200 with every status published, and the bus holding them.
fn check_published(stand: &Stand, timing: &Timing, count: usize) {
    let answer = &timing.answer;
    let body: Value = answer["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    assert!(
        answer["statusCode"] == 200 && body["published"] == count,
        "the webhook was not published: {answer}"
    );
    let put = stand.world.events_put.swap(0, Ordering::Relaxed);
    assert_eq!(put, count, "events on the bus");
}

#[derive(Default)]
struct Figures {
    /// Process start to the first webhook's answer, and that invocation alone.
    cold: Vec<f64>,
    first: Vec<f64>,
    /// That first invocation's own time, less the stand's (as warm).
    first_own: Vec<f64>,
    /// Warm: the invocation's own time, less the stand's (DynamoDB's and EventBridge's).
    warm: Vec<f64>,
}

/// One cold start of `binary`, its first event a webhook of `count` statuses.
async fn cold_once(figures: &mut Figures, binary: &str, env: &[(&str, String)], count: usize) {
    let stand = Stand::start(Duration::ZERO).await;
    let (mut child, started) = stand.spawn(binary, env);
    let timing = stand.invoke(webhook_event(0, count)).await;
    check_published(&stand, &timing, count);
    figures.cold.push(ms(timing.answered - started));
    figures.first.push(ms(timing.answered - timing.handed));
    figures.first_own.push(stand.overhead(&timing).0);
    let _ = child.kill();
    let _ = child.wait();
}

/// `sends` warm webhooks of `count` statuses, after 20 to warm up.
async fn warm_run(
    figures: &mut Figures,
    binary: &str,
    env: &[(&str, String)],
    count: usize,
    sends: usize,
) {
    let stand = Stand::start(Duration::ZERO).await;
    let (mut child, _) = stand.spawn(binary, env);
    for n in 0..sends + 20 {
        let timing = stand.invoke(webhook_event(n, count)).await;
        check_published(&stand, &timing, count);
        let (own, _) = stand.overhead(&timing);
        if n >= 20 {
            figures.warm.push(own);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A row: its label, wa-dispatch's values and the floor's, a scale (ms to µs) and the unit.
type Row<'a> = (String, &'a [f64], &'a [f64], f64, &'a str);

/// Prints the webhook table: cold and warm, 1 and 100 statuses, p50 and p99, beside the
/// floor; wa-dispatch with its status table and, doing what the floor does, with the bus
/// alone (no `STATUS_TABLE`: every verified status published).
pub async fn table(function: &str, floor: &str, runs: usize, sends: usize) {
    let ours_env = env();
    let bus_env: Vec<_> = env()
        .into_iter()
        .filter(|(k, _)| *k != "STATUS_TABLE")
        .collect();
    let floor_env = floor_env();
    println!();
    println!(
        "| Meta webhook, verified, beside the webhook floor | wa-dispatch p50 | floor p50 | ratio | wa-dispatch p99 | floor p99 | ratio |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (count, warm_sends) in [(1, sends), (MANY, (sends / 10).max(50))] {
        let (mut ours, mut bus, mut base) = <[Figures; 3]>::default().into();
        // Interleaved cold starts, so that a noisy moment hits all alike.
        for _ in 0..runs {
            cold_once(&mut ours, function, &ours_env, count).await;
            cold_once(&mut bus, function, &bus_env, count).await;
            cold_once(&mut base, floor, &floor_env, count).await;
        }
        warm_run(&mut ours, function, &ours_env, count, warm_sends).await;
        warm_run(&mut bus, function, &bus_env, count, warm_sends).await;
        warm_run(&mut base, floor, &floor_env, count, warm_sends).await;
        let statuses = match count {
            1 => "1 status".to_string(),
            _ => format!("{count} statuses"),
        };
        for (ours, with) in [(&ours, "table and bus"), (&bus, "bus alone")] {
            let rows: [Row; 4] = [
                (
                    format!("cold, {statuses}, {with}: start to the answer ({runs} starts)"),
                    &ours.cold,
                    &base.cold,
                    1.0,
                    "ms",
                ),
                (
                    format!("cold, {statuses}, {with}: the first invocation alone"),
                    &ours.first,
                    &base.first,
                    1.0,
                    "ms",
                ),
                (
                    format!("cold, {statuses}, {with}: the first invocation's own time, less the stand's"),
                    &ours.first_own,
                    &base.first_own,
                    1.0,
                    "ms",
                ),
                (
                    format!(
                        "warm, {statuses}, {with}: own time per webhook ({warm_sends} webhooks)"
                    ),
                    &ours.warm,
                    &base.warm,
                    1000.0,
                    "µs",
                ),
            ];
            for (what, ours, base, scale, unit) in rows {
                let (o50, b50) = (at(ours, 50.0) * scale, at(base, 50.0) * scale);
                let (o99, b99) = (at(ours, 99.0) * scale, at(base, 99.0) * scale);
                println!(
                    "| {what} | {o50:.2} {unit} | {b50:.2} {unit} | {:.2} | {o99:.2} {unit} | {b99:.2} {unit} | {:.2} |",
                    o50 / b50,
                    o99 / b99
                );
            }
        }
    }
}
