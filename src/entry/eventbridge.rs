//! EventBridge: `detail` is a send request. Any failure is a function error, so that
//! Lambda's asynchronous retries and its on-failure destination apply. The event's `id` is
//! the idempotency key when `detail` has none; keys belong to the event's account and
//! source.

use super::shared::{finish, FunctionError};
use crate::app::App;
use crate::send::{Context, Invocation};
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
    let account = event.account.as_deref().unwrap_or("?");
    let source = event.source.as_str();
    let caller = format!("{account}/{source}");
    let scope = format!("eventbridge:{account}:{source}");
    let context = Context {
        invocation,
        default_key: event.id.as_deref(),
        scope: &scope,
        caller: Some(&caller),
    };
    let outcome = app.sender.send(detail.detail.get(), &context).await;
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
