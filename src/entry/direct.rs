//! Direct invocation (Invoke API, Step Functions, asynchronous invokes): the event is a send
//! request; the answer is the HTTP route's document plus `http_status`. A function cannot
//! tell a synchronous invoke from an asynchronous one, and an answer is a success to
//! Lambda: with `DIRECT_FAILURES=error` a failed send is a function error instead, whose
//! `errorType` is the code, so that asynchronous retries and on-failure destinations apply
//! (docs/configuration.md).

use super::shared::{finish, with_status, FunctionError};
use crate::app::App;
use crate::config::DirectFailures;
use crate::send::{Context, Invocation};
use serde_json::Value;
use std::time::Instant;

/// Whose keys direct invocations use: Lambda does not say who invoked.
const SCOPE: &str = "direct";

pub async fn handle(
    event: &str,
    invocation: &Invocation,
    app: &App,
) -> Result<Value, FunctionError> {
    let started = Instant::now();
    let context = Context {
        invocation,
        default_key: None,
        scope: SCOPE,
        caller: None,
    };
    let outcome = app.sender.send(event, &context).await;
    finish(
        app,
        "direct",
        &invocation.request_id,
        None,
        &outcome,
        started,
    );
    match (&outcome.result, app.config.direct_failures) {
        (Err(error), DirectFailures::Error) => Err(FunctionError::SendFailed {
            code: error.code.as_str().to_string(),
            message: error.message.clone(),
        }),
        _ => Ok(with_status(&outcome)),
    }
}
