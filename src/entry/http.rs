//! HTTP requests, from API Gateway REST (payload v1) and HTTP APIs (v2), function URLs and
//! ALB, as `lambda_http` hands them over and answers them in each origin's envelope: the
//! routes of contract sections 1 and 6, with or without a stage in the path, 404/405 with
//! `Allow`, 413, 415, and `x-request-id` on every answer.

use super::{batch, finish};
use crate::app::App;
use crate::error::{ApiError, Code};
use crate::outcome::Outcome;
use crate::request::is_printable_token;
use crate::service::Invocation;
use crate::telemetry::Report;
use lambda_http::http::{HeaderName, HeaderValue};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};
use std::time::Instant;
use tracing::Instrument;

pub const MAX_BODY: usize = 64 * 1024;
pub const MAX_BATCH_BODY: usize = 1024 * 1024;
pub const MAX_BATCH_ENTRIES: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Send,
    Batch,
    Health,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Route::Send => "/v1/messages",
            Route::Batch => "/v1/messages/batch",
            Route::Health => "/v1/health",
        }
    }

    fn method(self) -> &'static str {
        match self {
            Route::Send | Route::Batch => "POST",
            Route::Health => "GET",
        }
    }
}

/// An answer before `lambda_http` puts it in its envelope.
pub(super) struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    document: Value,
}

impl Reply {
    pub(super) fn json(status: u16, document: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            document,
        }
    }

    /// Every answer is JSON and carries the request's id; a header value that could not be
    /// one is left out rather than failing the answer.
    fn into_response(self, request_id: &str) -> Response<Body> {
        let mut response = Response::new(Body::Text(self.document.to_string()));
        *response.status_mut() = lambda_http::http::StatusCode::from_u16(self.status)
            .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        let all = [
            ("content-type", "application/json".to_string()),
            ("x-request-id", request_id.to_string()),
        ];
        for (name, value) in all.into_iter().chain(self.headers) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

pub async fn handle(request: &Request, invocation: &Invocation, app: &App) -> Response<Body> {
    let started = Instant::now();
    let request_id = header(request, "x-request-id")
        .filter(|id| is_printable_token(id))
        .unwrap_or(&invocation.request_id)
        .to_string();
    let span = crate::telemetry::request_span(&invocation.request_id, &request_id);
    let invocation = invocation.with_id(&request_id);
    respond(request, &invocation, app, started)
        .instrument(span)
        .await
        .into_response(&request_id)
}

async fn respond(request: &Request, invocation: &Invocation, app: &App, started: Instant) -> Reply {
    let request_id = &invocation.request_id;
    let method = request.method().as_str();
    let path = request.raw_http_path();
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.as_deref(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.as_deref(),
        _ => None,
    };
    match route(path, stage) {
        None => {
            let error = ApiError::new(
                Code::NotFound,
                format!(
                    "no route for {} {}",
                    crate::telemetry::clean(method, 16),
                    crate::telemetry::clean(path, 200)
                ),
            );
            rejected(app, request_id, error, started)
        }
        Some(route) if !method.eq_ignore_ascii_case(route.method()) => {
            let error = ApiError::new(
                Code::MethodNotAllowed,
                format!(
                    "method {} is not allowed on {}; allowed: {}",
                    crate::telemetry::clean(method, 16),
                    route.path(),
                    route.method()
                ),
            );
            let mut reply = rejected(app, request_id, error, started);
            reply.headers.push(("allow", route.method().into()));
            reply
        }
        Some(Route::Health) => {
            // A request like any other: one log line, no metric (nothing is sent).
            let report = Report {
                outcome: "ok".into(),
                ..Report::default()
            };
            crate::telemetry::log_request("http", request_id, None, &report, started.elapsed());
            Reply::json(
                200,
                json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
            )
        }
        Some(route) => match read_body(request, route) {
            Err(error) => rejected(app, request_id, error, started),
            Ok(text) if route == Route::Send => {
                let key = header(request, "idempotency-key");
                let outcome = app.send(&text, key, invocation).await;
                finish(app, "http", request_id, None, &outcome, started);
                reply(&outcome)
            }
            Ok(text) => batch::handle(app, &text, invocation, started).await,
        },
    }
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Strips a stage (`/prod/v1/messages`) or a base path mapping's single segment.
fn route(path: &str, stage: Option<&str>) -> Option<Route> {
    let path = path.trim_end_matches('/');
    let path = match stage.filter(|s| *s != "$default") {
        Some(stage) => path
            .strip_prefix(&format!("/{stage}"))
            .filter(|p| p.starts_with('/'))
            .unwrap_or(path),
        None => path,
    };
    let known = |p: &str| match p {
        "/v1/messages" => Some(Route::Send),
        "/v1/messages/batch" => Some(Route::Batch),
        "/v1/health" => Some(Route::Health),
        _ => None,
    };
    known(path).or_else(|| {
        let rest = path.strip_prefix('/')?;
        let (_, tail) = rest.split_once('/')?;
        known(&format!("/{tail}"))
    })
}

/// Checks media type and size, then gives the body's text: nothing too large is read.
fn read_body(request: &Request, route: Route) -> Result<String, ApiError> {
    if let Some(content_type) = header(request, "content-type") {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !(essence == "application/json" || (essence.contains('/') && essence.ends_with("+json")))
        {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                format!(
                    "Content-Type `{}` is not JSON; send application/json",
                    crate::telemetry::clean(content_type, 100)
                ),
            ));
        }
    }
    if header(request, super::UNDECODABLE_BODY).is_some() {
        return Err(ApiError::invalid(
            "body",
            "the body is marked base64 but is not",
        ));
    }
    let limit = if route == Route::Batch {
        MAX_BATCH_BODY
    } else {
        MAX_BODY
    };
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > limit {
        let message = match limit {
            MAX_BATCH_BODY => "the body is larger than 1 MiB".to_string(),
            _ => format!("the body is larger than {} KiB", limit / 1024),
        };
        return Err(ApiError::new(Code::PayloadTooLarge, message));
    }
    if bytes.is_empty() {
        return Err(ApiError::new(
            Code::InvalidRequest,
            "the body is empty; a JSON send request is expected",
        ));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        ApiError::new(
            Code::InvalidRequest,
            "the body is not valid JSON: it is not UTF-8 text",
        )
    })
}

/// A document with its own `http_status`, as batch entries and direct invocations answer.
pub(crate) fn with_status(outcome: &Outcome) -> Value {
    let mut document = outcome.document();
    if let Some(map) = document.as_object_mut() {
        map.insert("http_status".into(), json!(outcome.http_status()));
        if outcome.replay {
            map.insert("idempotent_replay".into(), json!(true));
        }
    }
    document
}

fn reply(outcome: &Outcome) -> Reply {
    let mut reply = Reply::json(outcome.http_status(), outcome.document());
    if let Some(seconds) = outcome.retry_after() {
        reply.headers.push(("retry-after", seconds.to_string()));
    }
    if outcome.replay {
        reply.headers.push(("idempotent-replay", "true".into()));
    }
    reply
}

/// A request refused before any send: answered and logged like any other.
pub(super) fn rejected(app: &App, request_id: &str, error: ApiError, started: Instant) -> Reply {
    let outcome = Outcome::error(error, request_id, Report::default());
    finish(app, "http", request_id, None, &outcome, started);
    reply(&outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_found_with_or_without_a_stage() {
        assert_eq!(route("/v1/messages", None), Some(Route::Send));
        assert_eq!(route("/prod/v1/messages", Some("prod")), Some(Route::Send));
        assert_eq!(
            route("/v1/messages/batch/", Some("$default")),
            Some(Route::Batch)
        );
        assert_eq!(route("/api/v1/health", None), Some(Route::Health));
        assert_eq!(route("/a/b/v1/messages", None), None);
        assert_eq!(route("/v1/message", None), None);
        assert_eq!(route("/", None), None);
    }
}
