//! Event sources. `handle` recognises the event's shape (here and nowhere else) and hands
//! it to the entry point for that source; each entry point only decodes its envelope,
//! calls the send service and encodes the answer.
//!
//! Shapes are tried in this order:
//! 1. `Records` whose every `eventSource` is `aws:sqs`: an SQS batch;
//! 2. `detail-type`, `source` and `detail`: an EventBridge event;
//! 3. `requestContext` with `elb`: ALB; with `version` `2.0` or `http`: HTTP API v2 or a
//!    function URL; with a top-level `httpMethod`: API Gateway REST (payload v1);
//! 4. any other JSON object: a direct invocation, answered with the send request's
//!    document (a 400 naming the field when it is not a send request).
//!
//! Anything else (not an object, `Records` of another service, a `requestContext` of no
//! HTTP origin) is a function error that says what was seen.

mod direct;
mod eventbridge;
pub mod http;
mod sqs;

use crate::service::{Invocation, Outcome};
use crate::App;
use serde_json::Value;
use std::time::Instant;
use tracing::Instrument;

/// A failure the whole invocation reports to Lambda (a function error).
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error("unrecognised event: {0}")]
    UnknownShape(String),
    #[error("malformed {source_name} event: {reason}")]
    Malformed {
        source_name: &'static str,
        reason: String,
    },
    #[error("send failed: {code}: {message}")]
    SendFailed { code: String, message: String },
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(error: FunctionError) -> Self {
        let error_type = match &error {
            FunctionError::UnknownShape(_) => "UnknownEventShape".to_string(),
            FunctionError::Malformed { .. } => "MalformedEvent".to_string(),
            FunctionError::SendFailed { code, .. } => code.clone(),
        };
        lambda_runtime::Diagnostic {
            error_type,
            error_message: error.to_string(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Sqs,
    EventBridge,
    Http(http::Origin),
    Direct,
}

/// Handles one Lambda event of any supported shape, given as its JSON text (a send
/// request's numbers are sent as written there).
pub async fn handle(
    text: &str,
    invocation: &Invocation,
    app: &App,
) -> Result<Value, FunctionError> {
    let event: Value = serde_json::from_str(text).map_err(|e| FunctionError::Malformed {
        source_name: "Lambda",
        reason: e.to_string(),
    })?;
    // Each source's work is boxed: in one `match` of inline futures, a debug build's poll
    // frame holds all four, which deepens the stack of every invocation.
    // HTTP requests may carry their own id: their span is made once the event is read.
    let span = crate::telemetry::request_span(&invocation.request_id, &invocation.request_id);
    match detect(&event)? {
        Shape::Sqs => Box::pin(sqs::handle(event, invocation, app).instrument(span)).await,
        Shape::EventBridge => {
            Box::pin(eventbridge::handle(event, text, invocation, app).instrument(span)).await
        }
        Shape::Http(origin) => Box::pin(http::handle(event, origin, invocation, app)).await,
        Shape::Direct => Ok(Box::pin(direct::handle(text, invocation, app).instrument(span)).await),
    }
}

fn detect(event: &Value) -> Result<Shape, FunctionError> {
    let Some(object) = event.as_object() else {
        let kind = match event {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        return Err(FunctionError::UnknownShape(format!(
            "the event is {kind}, not a JSON object"
        )));
    };
    if let Some(records) = object.get("Records") {
        let sources: Vec<&str> = records
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|rec| {
                        rec.get("eventSource")
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !sources.is_empty() && sources.iter().all(|s| *s == "aws:sqs") {
            return Ok(Shape::Sqs);
        }
        let other = sources.iter().find(|s| **s != "aws:sqs").unwrap_or(&"none");
        return Err(FunctionError::UnknownShape(format!(
            "`Records` from event source {other:?}: only SQS batches (aws:sqs) are supported"
        )));
    }
    if object.contains_key("detail-type")
        && object.contains_key("source")
        && object.contains_key("detail")
    {
        return Ok(Shape::EventBridge);
    }
    if let Some(context) = object.get("requestContext") {
        if context.get("elb").is_some() {
            return Ok(Shape::Http(http::Origin::Alb));
        }
        if object.get("version").and_then(Value::as_str) == Some("2.0")
            || context.get("http").is_some()
        {
            return Ok(Shape::Http(http::Origin::HttpV2));
        }
        if object.contains_key("httpMethod") {
            return Ok(Shape::Http(http::Origin::RestV1));
        }
        return Err(FunctionError::UnknownShape(
            "a `requestContext` that is neither API Gateway REST, HTTP API, function URL nor ALB"
                .into(),
        ));
    }
    Ok(Shape::Direct)
}

/// Writes the request's log line and metrics.
fn finish(
    app: &App,
    source: &str,
    request_id: &str,
    message_id: Option<&str>,
    outcome: &Outcome,
    started: Instant,
) {
    crate::telemetry::log_request(
        source,
        request_id,
        message_id,
        &outcome.report,
        started.elapsed(),
    );
    app.metrics.record(request_id, &outcome.report);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_are_told_apart() {
        assert_eq!(
            detect(&json!({"Records": [{"eventSource": "aws:sqs"}]})).unwrap(),
            Shape::Sqs
        );
        assert_eq!(
            detect(&json!({"detail-type": "x", "source": "s", "detail": {}})).unwrap(),
            Shape::EventBridge
        );
        assert_eq!(
            detect(&json!({"requestContext": {"elb": {}}})).unwrap(),
            Shape::Http(http::Origin::Alb)
        );
        assert_eq!(
            detect(&json!({"version": "2.0", "requestContext": {}})).unwrap(),
            Shape::Http(http::Origin::HttpV2)
        );
        assert_eq!(
            detect(&json!({"httpMethod": "GET", "requestContext": {}})).unwrap(),
            Shape::Http(http::Origin::RestV1)
        );
        assert_eq!(detect(&json!({"to": "+1"})).unwrap(), Shape::Direct);
        // Not a send request, but an object: its answer is the 400 naming the field.
        assert_eq!(detect(&json!({})).unwrap(), Shape::Direct);
        assert_eq!(detect(&json!({"hello": "world"})).unwrap(), Shape::Direct);
    }

    #[test]
    fn unknown_shapes_say_what_was_seen() {
        for (event, words) in [
            (json!([1]), "an array"),
            (json!({"Records": [{"eventSource": "aws:s3"}]}), "aws:s3"),
            (json!({"Records": []}), "none"),
            (json!("hello"), "a string"),
            (json!({"requestContext": {}}), "requestContext"),
        ] {
            let err = detect(&event).unwrap_err().to_string();
            assert!(err.contains(words), "{err}");
        }
    }
}
