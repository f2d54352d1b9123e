//! Direct invocation (Invoke API, Step Functions): the event is a send request; the
//! answer is the HTTP route's document plus `http_status`. A refused send is an answer,
//! not a function error.

use super::finish;
use super::http::with_status;
use crate::app::App;
use crate::service::Invocation;
use serde_json::Value;
use std::time::Instant;

pub async fn handle(event: &str, invocation: &Invocation, app: &App) -> Value {
    let started = Instant::now();
    let outcome = app.send(event, None, invocation).await;
    finish(
        app,
        "direct",
        &invocation.request_id,
        None,
        &outcome,
        started,
    );
    with_status(&outcome)
}
