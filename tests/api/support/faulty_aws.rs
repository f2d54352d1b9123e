//! An HTTP proxy in front of moto that fails chosen AWS operations (by their `X-Amz-Target`,
//! such as `DynamoDB_20120810.UpdateItem`) the way AWS does: a throttling error, or no answer
//! at all; everything else is forwarded as it is. Faults in pairs: the provider answers, then
//! DynamoDB refuses the outcome's write.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `ProvisionedThroughputExceededException` (HTTP 400), as a throttled table answers.
    Throttle,
    /// The request is taken and never answered.
    Hang,
}

#[derive(Clone)]
pub struct FaultyAws {
    pub url: String,
    faults: Arc<Mutex<HashMap<String, (Fault, usize)>>>,
    seen: Arc<Mutex<Vec<String>>>,
    /// Each call's target and, for PutEvents, its number of entries.
    calls: Arc<Mutex<Vec<(String, usize)>>>,
}

impl FaultyAws {
    pub async fn start() -> FaultyAws {
        let upstream = super::aws::moto_url();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = FaultyAws {
            url: format!("http://{}", listener.local_addr().unwrap()),
            faults: Arc::default(),
            seen: Arc::default(),
            calls: Arc::default(),
        };
        let this = proxy.clone();
        let client = reqwest::Client::new();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (this, client, upstream) = (this.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (this, client, upstream) =
                            (this.clone(), client.clone(), upstream.clone());
                        async move { this.serve(req, &client, &upstream).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        proxy
    }

    /// The next `times` calls of `operation` (e.g. `UpdateItem`) meet `fault`.
    pub fn fail(&self, operation: &str, fault: Fault, times: usize) {
        self.faults
            .lock()
            .unwrap()
            .insert(format!("DynamoDB_20120810.{operation}"), (fault, times));
    }

    /// The next `times` calls of `target` (e.g. `AWSEvents.PutEvents`) meet `fault`.
    pub fn fail_target(&self, target: &str, fault: Fault, times: usize) {
        self.faults
            .lock()
            .unwrap()
            .insert(target.to_string(), (fault, times));
    }

    /// The number of entries of each call of `target`, in order.
    pub fn entries_per_call(&self, target: &str) -> Vec<usize> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == target)
            .map(|(_, n)| *n)
            .collect()
    }

    /// Every call's target, in order.
    pub fn targets(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// The DynamoDB operations asked for, in order.
    pub fn operations(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    async fn serve(
        &self,
        request: Request<Incoming>,
        client: &reqwest::Client,
        upstream: &str,
    ) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if let Some(operation) = target.strip_prefix("DynamoDB_20120810.") {
            self.seen.lock().unwrap().push(operation.to_string());
        }
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            match faults.get_mut(&target) {
                Some((fault, left)) if *left > 0 => {
                    *left -= 1;
                    Some(*fault)
                }
                _ => None,
            }
        };
        match fault {
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Throttle) => {
                let body = match target.starts_with("AWSEvents.") {
                    true => r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                    false => {
                        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#
                    }
                };
                return Ok(Response::builder()
                    .status(400)
                    .header("content-type", "application/x-amz-json-1.0")
                    .body(Full::new(Bytes::from(body)))
                    .unwrap());
            }
            None => {}
        }
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let entries = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|b| b.get("Entries").and_then(|e| e.as_array()).map(Vec::len))
            .unwrap_or(0);
        self.calls.lock().unwrap().push((target.clone(), entries));
        let mut forward = client.request(parts.method.clone(), format!("{upstream}{}", parts.uri));
        for (name, value) in &parts.headers {
            if name != "host" {
                forward = forward.header(name, value);
            }
        }
        let Ok(answer) = forward.body(body).send().await else {
            return Ok(Response::builder()
                .status(502)
                .body(Full::new(Bytes::new()))
                .unwrap());
        };
        let mut response = Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            if name != "content-length" && name != "transfer-encoding" {
                response = response.header(name, value);
            }
        }
        let bytes = answer.bytes().await.unwrap_or_default();
        Ok(response.body(Full::new(bytes)).unwrap())
    }
}
