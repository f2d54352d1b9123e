//! Every event that is not an HTTP request reaches `lambda_http`'s pass-through as its JSON
//! text; its shape is recognised here, and nowhere else, in this order:
//! 1. `Records` whose every `eventSource` is `aws:sqs`: an SQS batch;
//! 2. `detail-type`, `source` and `detail`: an EventBridge event;
//! 3. a `requestContext`: an HTTP event `lambda_http` could not read (a function error);
//! 4. any other JSON object: a direct invocation, answered with the send request's
//!    document (a 400 naming the field when it is not a send request).
//!
//! Anything else (not an object, `Records` of another service) is a function error that
//! says what was seen.

use super::shared::FunctionError;
use super::{direct, eventbridge, sqs};
use crate::app::App;
use crate::send::Invocation;
use serde_json::Value;
use tracing::Instrument;

#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Sqs,
    EventBridge,
    Direct,
}

/// Handles one non-HTTP event, given as its JSON text (a send request's numbers are sent as
/// written there): its result, or the function error Lambda should see.
pub async fn handle(
    text: &str,
    invocation: &Invocation,
    app: &App,
) -> Result<Value, FunctionError> {
    let event: Value = serde_json::from_str(text).map_err(|e| FunctionError::Malformed {
        source_name: "Lambda",
        reason: e.to_string(),
    })?;
    let span =
        crate::infra::telemetry::request_span(&invocation.request_id, &invocation.request_id);
    match detect(&event)? {
        Shape::Sqs => Box::pin(sqs::handle(event, invocation, app).instrument(span)).await,
        Shape::EventBridge => {
            Box::pin(eventbridge::handle(event, text, invocation, app).instrument(span)).await
        }
        Shape::Direct => Box::pin(direct::handle(text, invocation, app).instrument(span)).await,
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
    if object.contains_key("requestContext") {
        return Err(FunctionError::UnknownShape(
            "a `requestContext` that is neither API Gateway REST, HTTP API, function URL nor ALB"
                .into(),
        ));
    }
    Ok(Shape::Direct)
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
