//! Event sources. `lambda_http` reads every event: the HTTP shapes (API Gateway REST and
//! HTTP APIs, function URLs, ALB) become requests that `http` routes and answers in their
//! own envelopes; any other event reaches `events` as the pass-through `POST /events` with
//! its JSON as the body, and its answer's JSON is the invocation's result. Each entry
//! point only decodes, calls the send service and renders its outcome.

mod direct;
mod eventbridge;
mod events;
pub mod http;
mod shared;
mod sqs;

pub use shared::FunctionError;
use shared::UNDECODABLE_BODY;

use crate::app::App;
use crate::send::Invocation;
use lambda_http::lambda_runtime::{Context, LambdaEvent, Service};
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Adapter, Body, Request, RequestExt, Response};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Answers one request `lambda_http` made of an event: an HTTP route, or the pass-through
/// `/events` of any other event.
pub async fn handle(request: Request, app: &App) -> Result<Response<Body>, FunctionError> {
    let context = request.lambda_context_ref().cloned().unwrap_or_default();
    let invocation = Invocation::new(context.request_id.clone(), time_left(&context));
    if matches!(
        request.request_context_ref(),
        Some(RequestContext::PassThrough)
    ) {
        let text = std::str::from_utf8(request.body().as_ref()).unwrap_or("null");
        let result = Box::pin(events::handle(text, &invocation, app)).await?;
        return Ok(Response::new(Body::Text(result.to_string())));
    }
    Ok(Box::pin(http::handle(&request, &invocation, app)).await)
}

/// Runs one Lambda event, given as its JSON text, through `lambda_http` and `handle`, as
/// the runtime does, in this process: the result is the JSON Lambda would return.
pub async fn invoke(
    event: &str,
    request_id: &str,
    time_left: Duration,
    app: &App,
) -> Result<Value, FunctionError> {
    let payload: LambdaRequest =
        serde_json::from_str(event).map_err(|e| FunctionError::Malformed {
            source_name: "Lambda",
            reason: e.to_string(),
        })?;
    let mut context = Context::default();
    context.request_id = request_id.to_string();
    context.deadline = crate::infra::epoch_ms() + time_left.as_millis() as u64;
    let service = lambda_http::service_fn(|request| handle(request, app));
    let mut guarded = Guard::new(Adapter::from(service));
    let response = guarded.call(LambdaEvent::new(payload, context)).await?;
    serde_json::to_value(response).map_err(|e| FunctionError::Malformed {
        source_name: "Lambda",
        reason: e.to_string(),
    })
}

/// Sits between the runtime and `lambda_http`'s adapter (which is all that
/// `lambda_http::run_concurrent` puts there), for the HTTP events the adapter cannot
/// convert. A body marked base64 that is not base64 is passed on empty and marked, so that
/// the route answers its 400; any other event the adapter panics on is a
/// function error that says so, not a panic.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
}

impl<S> Guard<S> {
    pub fn new(inner: S) -> Self {
        Guard { inner }
    }
}

impl<S> Service<LambdaEvent<LambdaRequest>> for Guard<S>
where
    S: Service<LambdaEvent<LambdaRequest>, Error = FunctionError>,
{
    type Response = S::Response;
    type Error = FunctionError;
    type Future = futures_util::future::Either<
        S::Future,
        std::future::Ready<Result<S::Response, FunctionError>>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        mark_undecodable_body(&mut event.payload);
        let inner = &mut self.inner;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.call(event))) {
            Ok(future) => futures_util::future::Either::Left(future),
            Err(_) => futures_util::future::Either::Right(std::future::ready(Err(
                FunctionError::Malformed {
                    source_name: "HTTP",
                    reason: "an HTTP event whose request cannot be read (its path or Host)".into(),
                },
            ))),
        }
    }
}

fn mark_undecodable_body(payload: &mut LambdaRequest) {
    use base64::Engine;
    let (body, base64, headers) = match payload {
        LambdaRequest::ApiGatewayV1(e) => (&mut e.body, &mut e.is_base64_encoded, &mut e.headers),
        LambdaRequest::ApiGatewayV2(e) => (&mut e.body, &mut e.is_base64_encoded, &mut e.headers),
        LambdaRequest::Alb(e) => (&mut e.body, &mut e.is_base64_encoded, &mut e.headers),
        _ => return,
    };
    let undecodable = *base64
        && body
            .as_deref()
            .is_some_and(|b| base64::engine::general_purpose::STANDARD.decode(b).is_err());
    if undecodable {
        *body = None;
        *base64 = false;
        headers.insert(
            UNDECODABLE_BODY,
            lambda_http::http::HeaderValue::from_static("base64"),
        );
    }
}

/// Lambda sends the deadline as epoch milliseconds; `cargo lambda watch` sends the
/// function's timeout in milliseconds instead (600000), which would read as long past.
fn time_left(context: &Context) -> Duration {
    const YEAR_2001_MS: u64 = 978_307_200_000;
    if context.deadline < YEAR_2001_MS {
        return Duration::from_millis(context.deadline);
    }
    context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO)
}
