//! The fault-injection load test (counts, not timings): 1,000 send requests in SQS batches
//! of 10 through the built binary, with 5% of provider answers faulted (500, reset, hang past
//! the timeout, HTML, 429). Every record must be accepted by the provider exactly once or be
//! listed in `batchItemFailures`, and the function process must live to the end.

use crate::support::function::Launch;
use crate::support::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Response;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FAULTS: [&str; 5] = ["500", "reset", "hang", "html", "429"];

#[derive(Default)]
struct Ledger {
    arrivals: AtomicUsize,
    accepted: Mutex<HashMap<String, usize>>,
    faults: Mutex<HashMap<&'static str, usize>>,
}

/// bitbybit's endpoint with every 20th answer faulted, cycling through `FAULTS`.
async fn faulty_provider(ledger: Arc<Ledger>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let ledger = ledger.clone();
                        async move {
                            let bytes = req
                                .into_body()
                                .collect()
                                .await
                                .map_err(std::io::Error::other)?
                                .to_bytes();
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let record = body["template_name"].as_str().unwrap_or("?").to_string();
                            let n = ledger.arrivals.fetch_add(1, Ordering::SeqCst);
                            let fault = (n % 20 == 10).then(|| FAULTS[(n / 20) % FAULTS.len()]);
                            if let Some(kind) = fault {
                                *ledger.faults.lock().unwrap().entry(kind).or_default() += 1;
                            }
                            let (status, text, content_type) = match fault {
                                Some("500") => (
                                    500,
                                    "{\"error\":{\"code\":\"INTERNAL\"}}".to_string(),
                                    "application/json",
                                ),
                                Some("html") => {
                                    (502, "<html>Bad Gateway</html>".to_string(), "text/html")
                                }
                                Some("429") => (
                                    429,
                                    "{\"error\":{\"code\":\"RATE_LIMIT_EXCEEDED\"}}".to_string(),
                                    "application/json",
                                ),
                                // An error from the service makes hyper drop the connection unanswered.
                                Some("reset") => return Err(std::io::Error::other("reset")),
                                Some(_) => {
                                    tokio::time::sleep(Duration::from_secs(3)).await;
                                    (
                                        200,
                                        json!({"data": {"messageId2": "late"}}).to_string(),
                                        "application/json",
                                    )
                                }
                                None => {
                                    *ledger.accepted.lock().unwrap().entry(record).or_default() +=
                                        1;
                                    (
                                        200,
                                        json!({"data": {"messageId2": format!("wamid.{n}")}})
                                            .to_string(),
                                        "application/json",
                                    )
                                }
                            };
                            Ok::<_, std::io::Error>(
                                Response::builder()
                                    .status(status)
                                    .header("content-type", content_type)
                                    .body(Full::new(Bytes::from(text)))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_thousand_sqs_records_with_five_percent_faults_are_each_sent_once_or_reported() {
    setup();
    let ledger = Arc::new(Ledger::default());
    let base = faulty_provider(ledger.clone()).await;
    let mut function = Launch::new()
        .var("BITBYBIT_BASE_URL", base)
        .var("PROVIDER_TIMEOUT_MS", "400")
        .start()
        .await;
    let mut failed: HashSet<String> = HashSet::new();
    for batch in 0..100 {
        let records: Vec<Value> = (0..10)
            .map(|i| {
                let id = format!("r-{}", batch * 10 + i);
                let mut record = fixture("sqs-batch.json")["Records"][0].clone();
                record["messageId"] = json!(id);
                record["body"] = json!(
                    json!({"provider": "bitbybit", "to": PHONE_US, "template": id}).to_string()
                );
                record
            })
            .collect();
        let answer = function
            .invoke(json!({"Records": records}), Duration::from_secs(10))
            .await
            .expect("no batch fails as a whole");
        for failure in answer["batchItemFailures"].as_array().unwrap() {
            assert!(failed.insert(failure["itemIdentifier"].as_str().unwrap().to_string()));
        }
    }
    let accepted = ledger.accepted.lock().unwrap().clone();
    let faults = ledger.faults.lock().unwrap().clone();
    println!(
        "1000 records: {} accepted once, {} reported failed; {} provider requests, faults {faults:?}",
        accepted.len(),
        failed.len(),
        ledger.arrivals.load(Ordering::SeqCst)
    );
    assert!(
        accepted.values().all(|n| *n == 1),
        "no record was accepted twice"
    );
    assert!(
        accepted.keys().all(|id| !failed.contains(id)),
        "no accepted record is reported failed"
    );
    assert_eq!(accepted.len() + failed.len(), 1000, "the counts add up");
    assert!(
        FAULTS
            .iter()
            .all(|f| faults.get(f).copied().unwrap_or(0) > 0),
        "every fault kind was injected"
    );
    assert!(function.is_alive(), "the function process never died");
    assert_nothing_forbidden(&function.output());
}
