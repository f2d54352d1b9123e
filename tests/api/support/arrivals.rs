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
pub struct Arrivals(Arc<Mutex<Vec<(Instant, Value)>>>);

impl Arrivals {
    pub async fn serve(
        &self,
        server: &MockServer,
        success: Value,
        delay: Duration,
        per_second: Option<usize>,
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
            if per_second.is_some_and(|limit| in_last_second > limit) {
                return ResponseTemplate::new(429)
                    .set_body_json(json!({"success": false, "error": "Too many requests"}));
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
