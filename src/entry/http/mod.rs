//! HTTP events: API Gateway REST (payload v1), HTTP API (v2), function URLs and ALB.
//! Routes of contract section 1 and section 6, with or without a stage in the path.

mod envelope;

pub use envelope::Origin;

use super::{finish, FunctionError};
use crate::error::{ApiError, Code};
use crate::request::is_printable_token;
use crate::service::{Invocation, Outcome, Report};
use crate::App;
use envelope::{Answer, HttpRequest};
use serde_json::value::RawValue;
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

pub async fn handle(
    event: Value,
    origin: Origin,
    invocation: &Invocation,
    app: &App,
) -> Result<Value, FunctionError> {
    let started = Instant::now();
    let request = HttpRequest::decode(event, origin)?;
    let request_id = request
        .header("x-request-id")
        .filter(|id| is_printable_token(id))
        .unwrap_or(&invocation.request_id)
        .to_string();
    let span = crate::telemetry::request_span(&invocation.request_id, &request_id);
    let answer = respond(&request, &request_id, invocation, app, started)
        .instrument(span)
        .await;
    Ok(request.encode(answer.with_request_id(&request_id)))
}

async fn respond(
    request: &HttpRequest,
    request_id: &str,
    invocation: &Invocation,
    app: &App,
    started: Instant,
) -> Answer {
    let request_id = request_id.to_string();
    match route(&request.path, request.stage.as_deref()) {
        None => {
            let error = ApiError::new(
                Code::NotFound,
                format!(
                    "no route for {} {}",
                    crate::telemetry::clean(&request.method, 16),
                    crate::telemetry::clean(&request.path, 200)
                ),
            );
            rejected(app, &request_id, &error, started)
        }
        Some(route) if !request.method.eq_ignore_ascii_case(route.method()) => {
            let error = ApiError::new(
                Code::MethodNotAllowed,
                format!(
                    "method {} is not allowed on {}; allowed: {}",
                    crate::telemetry::clean(&request.method, 16),
                    route.path(),
                    route.method()
                ),
            );
            let mut answer = rejected(app, &request_id, &error, started);
            answer.headers.push(("allow".into(), route.method().into()));
            answer
        }
        Some(Route::Health) => {
            // A request like any other: one log line, no metric (nothing is sent).
            let outcome = Outcome {
                http_status: 200,
                document: json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
                retry_after: None,
                replay: false,
                report: Report {
                    outcome: "ok".into(),
                    ..Report::default()
                },
            };
            finish(app, "http", &request_id, None, &outcome, started);
            outcome_answer(&outcome)
        }
        Some(route) => match read_body(request, route) {
            Err(error) => rejected(app, &request_id, &error, started),
            Ok(body) if route == Route::Send => {
                let key = request.header("idempotency-key");
                let outcome = app.send(&body, key, &invocation.with_id(&request_id)).await;
                finish(app, "http", &request_id, None, &outcome, started);
                outcome_answer(&outcome)
            }
            Ok(body) => batch(app, &body, &invocation.with_id(&request_id), started).await,
        },
    }
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
fn read_body(request: &HttpRequest, route: Route) -> Result<String, ApiError> {
    if let Some(content_type) = request.header("content-type") {
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
    let limit = if route == Route::Batch {
        MAX_BATCH_BODY
    } else {
        MAX_BODY
    };
    let too_large = || {
        ApiError::new(
            Code::PayloadTooLarge,
            match limit {
                MAX_BATCH_BODY => "the body is larger than 1 MiB".to_string(),
                _ => format!("the body is larger than {} KiB", limit / 1024),
            },
        )
    };
    let bytes = request.body_bytes(limit).map_err(|e| match e {
        envelope::BodyError::TooLarge => too_large(),
        envelope::BodyError::BadBase64 => {
            ApiError::invalid("body", "the body is marked base64 but is not")
        }
    })?;
    if bytes.is_empty() {
        return Err(ApiError::new(
            Code::InvalidRequest,
            "the body is empty; a JSON send request is expected",
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        ApiError::new(
            Code::InvalidRequest,
            "the body is not valid JSON: it is not UTF-8 text",
        )
    })
}

/// The batch's entries as written, so that each entry's numbers are sent as written.
#[derive(serde::Deserialize)]
struct BatchText<'a> {
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
}

async fn batch(app: &App, text: &str, invocation: &Invocation, started: Instant) -> Answer {
    let body: Value = match serde_json::from_str(text) {
        Ok(body) => body,
        Err(e) => {
            let error = ApiError::new(
                Code::InvalidRequest,
                format!("the body is not valid JSON: {e}"),
            );
            return rejected(app, &invocation.request_id, &error, started);
        }
    };
    let messages = match body.as_object() {
        Some(envelope) if envelope.keys().any(|k| k != "messages") => {
            let unknown = envelope
                .keys()
                .find(|k| *k != "messages")
                .cloned()
                .unwrap_or_default();
            Err(ApiError::invalid(
                unknown.clone(),
                format!("unknown field `{unknown}`"),
            ))
        }
        Some(envelope) => match envelope.get("messages") {
            Some(Value::Array(list)) if (1..=MAX_BATCH_ENTRIES).contains(&list.len()) => Ok(list),
            Some(Value::Array(list)) => Err(ApiError::invalid(
                "messages",
                format!(
                    "`messages` has {} entries; 1 to {MAX_BATCH_ENTRIES} are allowed",
                    list.len()
                ),
            )),
            _ => Err(ApiError::invalid(
                "messages",
                "`messages` (an array of send requests) is required",
            )),
        },
        None => Err(ApiError::new(
            Code::InvalidRequest,
            "the batch must be a JSON object with `messages`",
        )),
    };
    let entries = messages.and_then(|_| {
        serde_json::from_str::<BatchText>(text)
            .map_err(|e| ApiError::invalid("messages", format!("`messages` cannot be read: {e}")))
    });
    let entries = match entries {
        Ok(entries) => entries.messages,
        Err(error) => return rejected(app, &invocation.request_id, &error, started),
    };
    // Entries run concurrently; the instance's send permits and pacing bound them.
    let outcomes =
        futures_util::future::join_all(entries.iter().map(|m| app.send(m.get(), None, invocation)))
            .await;
    let results: Vec<Value> = outcomes
        .iter()
        .map(|outcome| {
            finish(
                app,
                "http:batch",
                &invocation.request_id,
                None,
                outcome,
                started,
            );
            with_status(outcome)
        })
        .collect();
    Answer::json(200, json!({ "results": results }))
}

/// A document with its own `http_status`, as batch entries and direct invocations answer.
pub(crate) fn with_status(outcome: &Outcome) -> Value {
    let mut document = outcome.document.clone();
    if let Some(map) = document.as_object_mut() {
        map.insert("http_status".into(), json!(outcome.http_status));
        if outcome.replay {
            map.insert("idempotent_replay".into(), json!(true));
        }
    }
    document
}

fn outcome_answer(outcome: &Outcome) -> Answer {
    let mut answer = Answer::json(outcome.http_status, outcome.document.clone());
    if let Some(wait) = outcome.retry_after {
        // Whole seconds, rounded up: a caller that waits this long finds the slot free.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        answer
            .headers
            .push(("retry-after".into(), seconds.to_string()));
    }
    if outcome.replay {
        answer
            .headers
            .push(("idempotent-replay".into(), "true".into()));
    }
    answer
}

/// A request refused before any send: answered and logged like any other.
fn rejected(app: &App, request_id: &str, error: &ApiError, started: Instant) -> Answer {
    let outcome = Outcome::error(error, request_id, Report::default());
    finish(app, "http", request_id, None, &outcome, started);
    outcome_answer(&outcome)
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
