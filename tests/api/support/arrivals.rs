//! A provider stub (on a wiremock server) that records each request's arrival time and
//! body, so tests can count requests in flight and requests per second.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A provider stub that records each request's arrival, answers after `delay`, and
/// enforces a per-second limit the way a real provider would (429 past it).
#[derive(Clone, Default)]
pub struct Arrivals(Arc<Mutex<Vec<(Instant, Value)>>>, Arc<Mutex<usize>>);

impl Arrivals {
    /// Answers `success` after `delay`; past `per_second` requests in any one-second window,
    /// autocalls' 429.
    pub async fn serve(
        &self,
        server: &MockServer,
        success: Value,
        delay: Duration,
        per_second: Option<usize>,
    ) {
        let throttled = ResponseTemplate::new(429)
            .set_body_json(json!({"success": false, "error": "Too many requests"}));
        self.enforce(server, success, delay, per_second.map(|n| (n, throttled)))
            .await
    }

    /// Answers `success` after `delay`; past `limit.0` requests in any one-second window
    /// (counting every request, refused ones too, as a strict provider does), `limit.1`.
    pub async fn enforce(
        &self,
        server: &MockServer,
        success: Value,
        delay: Duration,
        limit: Option<(usize, ResponseTemplate)>,
    ) {
        let arrivals = self.clone();
        let responder = move |request: &Request| {
            let now = Instant::now();
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let mut list = arrivals.0.lock().unwrap();
            list.push((now, body));
            let in_last_second = list
                .iter()
                .filter(|(t, _)| now.duration_since(*t) < Duration::from_secs(1))
                .count();
            if let Some((_, throttled)) = limit.as_ref().filter(|(n, _)| in_last_second > *n) {
                *arrivals.1.lock().unwrap() += 1;
                return throttled.clone();
            }
            ResponseTemplate::new(200)
                .set_body_json(success.clone())
                .set_delay(delay)
        };
        Mock::given(method("POST"))
            .respond_with(responder)
            .mount(server)
            .await;
    }

    /// How many requests were answered as throttled.
    pub fn throttled(&self) -> usize {
        *self.1.lock().unwrap()
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// When each request arrived, in order.
    pub fn times(&self) -> Vec<Instant> {
        self.0.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }

    /// The most arrivals inside any one-second window.
    pub fn busiest_second(&self) -> usize {
        let times: Vec<Instant> = self.0.lock().unwrap().iter().map(|(t, _)| *t).collect();
        busiest_second(&times)
    }

    /// The most requests in flight at once, from arrivals and the fixed answer delay.
    pub fn most_in_flight(&self, delay: Duration) -> usize {
        let times: Vec<Instant> = self.0.lock().unwrap().iter().map(|(t, _)| *t).collect();
        times
            .iter()
            .map(|at| {
                times
                    .iter()
                    .filter(|t| **t <= *at && at.duration_since(**t) < delay)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
}

/// The most of `times` inside any one-second window.
pub fn busiest_second(times: &[Instant]) -> usize {
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}
