//! What every entry point shares: the function error Lambda sees, the request's log line
//! and metrics, the document with its own `http_status`, and the isolation of one send.

use crate::app::App;
use crate::error::ApiError;
use crate::infra::telemetry::Report;
use crate::send::outcome::Outcome;
use futures_util::FutureExt;
use lambda_http::lambda_runtime::Diagnostic;
use serde_json::{json, Value};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

/// The mark of an HTTP body that was marked base64 but was not (see `entry::Guard`): its
/// route answers 400.
pub const UNDECODABLE_BODY: &str = "x-wa-dispatch-undecodable-body";

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

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Self {
        let error_type = match &error {
            FunctionError::UnknownShape(_) => "UnknownEventShape".to_string(),
            FunctionError::Malformed { .. } => "MalformedEvent".to_string(),
            FunctionError::SendFailed { code, .. } => code.clone(),
        };
        Diagnostic {
            error_type,
            error_message: error.to_string(),
        }
    }
}

/// Writes the request's log line and metrics.
pub fn finish(
    app: &App,
    source: &str,
    request_id: &str,
    message_id: Option<&str>,
    outcome: &Outcome,
    started: Instant,
) {
    crate::infra::telemetry::log_request(
        source,
        request_id,
        message_id,
        &outcome.report,
        started.elapsed(),
    );
    app.metrics.record(request_id, &outcome.report);
}

/// A document with its own `http_status`, as batch entries and direct invocations answer.
pub fn with_status(outcome: &Outcome) -> Value {
    let mut document = outcome.document();
    if let Some(map) = document.as_object_mut() {
        map.insert("http_status".into(), json!(outcome.http_status()));
        if outcome.replay {
            map.insert("idempotent_replay".into(), json!(true));
        }
    }
    document
}

/// One SQS record's or batch entry's send, on its own: a panic in it (a bug) is its own
/// `INTERNAL` answer, whose log line still names who asked and the request's
/// `client_reference` (read from its `text` only then), and its siblings go on.
pub async fn isolated(
    send: impl Future<Output = Outcome>,
    request_id: &str,
    text: &str,
    caller: Option<&str>,
) -> Outcome {
    match AssertUnwindSafe(send).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::error!("a send panicked; it is answered INTERNAL and its siblings go on");
            let report = Report::for_text(text, caller);
            Outcome::error(ApiError::internal(), request_id, report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicked_send_is_internal_and_its_report_names_the_caller_and_reference() {
        let text = r#"{"to": "+1 415 555 0100", "client_reference": "order-7"}"#;
        let outcome = isolated(
            async { panic!("a bug") },
            "req-1",
            text,
            Some("arn:aws:sqs:eu-west-1:1:q"),
        )
        .await;
        assert_eq!(outcome.http_status(), 500);
        assert_eq!(with_status(&outcome)["error"]["code"], "INTERNAL");
        assert_eq!(outcome.report.outcome, "INTERNAL");
        assert_eq!(
            outcome.report.caller.as_deref(),
            Some("arn:aws:sqs:eu-west-1:1:q")
        );
        assert_eq!(outcome.report.client_reference.as_deref(), Some("order-7"));
    }
}
