//! A small Lambda Runtime API stand-in: it starts the built `wa-dispatch` binary with
//! `AWS_LAMBDA_RUNTIME_API` pointing here, hands it events through `/invocation/next`
//! and collects each `/response` or `/error`, as Lambda's own runtime service does. Every
//! waiting `/next` gets the next queued event, so a function polling with several workers
//! (`AWS_LAMBDA_MAX_CONCURRENCY` > 1) has as many invocations in flight.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

/// What the function answered: its result, or a function error (`errorType`, `errorMessage`).
pub type Answer = Result<Value, Value>;

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<(String, Value, Duration)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    ready: Notify,
}

pub struct Runtime {
    state: Arc<State>,
    child: tokio::process::Child,
    pub output: Arc<Mutex<String>>,
    next_id: AtomicUsize,
}

impl Runtime {
    /// Starts the binary with these environment variables (plus the runtime's own).
    pub async fn start(vars: &[(&str, String)]) -> Runtime {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| serve(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_wa-dispatch"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "wa-dispatch")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/wa-dispatch")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .envs(vars.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start wa-dispatch");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            tokio::spawn(async move {
                let mut stream = stream;
                let mut buf = [0u8; 8192];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Runtime {
            state,
            child,
            output,
            next_id: AtomicUsize::new(1),
        }
    }

    /// Invokes the function with `event`, giving it `timeout` as Lambda would.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Answer {
        let id = format!("invoke-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        self.invoke_as(id, event, timeout).await
    }

    /// Like `invoke`, with the Lambda request id given (unique per runtime).
    pub async fn invoke_as(&self, id: String, event: Value, timeout: Duration) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.state.waiting.lock().unwrap().insert(id.clone(), tx);
        self.state
            .queue
            .lock()
            .unwrap()
            .push_back((id, event, timeout));
        self.state.ready.notify_one();
        tokio::time::timeout(timeout + Duration::from_secs(60), rx)
            .await
            .expect("the function answered before Lambda would have stopped it")
            .expect("answer channel")
    }

    /// Queues `event` without waiting for its answer (which comes, if ever, on the receiver).
    pub fn invoke_later(&self, event: Value, timeout: Duration) -> oneshot::Receiver<Answer> {
        let id = format!("invoke-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let (tx, rx) = oneshot::channel();
        self.state.waiting.lock().unwrap().insert(id.clone(), tx);
        self.state
            .queue
            .lock()
            .unwrap()
            .push_back((id, event, timeout));
        self.state.ready.notify_one();
        rx
    }

    /// Kills the function process, as Lambda does when an instance dies.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// `true` while the function process lives.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

async fn serve(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    if path.ends_with("/runtime/invocation/next") {
        let (id, event, timeout) = loop {
            let notified = state.ready.notified();
            if let Some(next) = state.queue.lock().unwrap().pop_front() {
                break next;
            }
            notified.await;
        };
        // As in Lambda, the invocation's time starts when the function receives it.
        let deadline =
            (SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + timeout).as_millis();
        return Ok(Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:wa-dispatch",
            )
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap());
    }
    let body = req.into_body().collect().await?.to_bytes();
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    // /2018-06-01/runtime/invocation/{id}/response | /error
    if let [_, "runtime", "invocation", id, kind] = parts.as_slice() {
        if let Some(tx) = state.waiting.lock().unwrap().remove(*id) {
            let _ = tx.send(if *kind == "response" {
                Ok(value)
            } else {
                Err(value)
            });
        }
    }
    Ok(Response::builder()
        .status(202)
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap())
}
