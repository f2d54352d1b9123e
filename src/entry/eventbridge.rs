//! EventBridge: `detail` is a send request. Any failure is a function error, so that
//! Lambda's asynchronous retries and its on-failure destination apply.

use super::{finish, FunctionError};
use crate::app::App;
use crate::service::Invocation;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::time::Instant;

/// The event's `detail` as written, so that its numbers are sent as written.
#[derive(Deserialize)]
struct DetailText<'a> {
    #[serde(borrow)]
    detail: &'a RawValue,
}

pub async fn handle(
    event: Value,
    text: &str,
    invocation: &Invocation,
    app: &App,
) -> Result<Value, FunctionError> {
    let started = Instant::now();
    let malformed = |e: serde_json::Error| FunctionError::Malformed {
        source_name: "EventBridge",
        reason: e.to_string(),
    };
    let event: EventBridgeEvent<Value> = serde_json::from_value(event).map_err(malformed)?;
    let detail: DetailText = serde_json::from_str(text).map_err(malformed)?;
    // The event id is the idempotency key when `detail` has none: a retried delivery of
    // one event keeps its id.
    let outcome = app
        .send(detail.detail.get(), event.id.as_deref(), invocation)
        .await;
    finish(
        app,
        "eventbridge",
        &invocation.request_id,
        None,
        &outcome,
        started,
    );
    match outcome.result {
        Ok(_) => Ok(outcome.document()),
        Err(error) => Err(FunctionError::SendFailed {
            code: error.code.as_str().to_string(),
            message: error.message,
        }),
    }
}
