//! `POST /v1/messages/batch` (contract section 6): 1 to 100 send requests, sent
//! concurrently and answered in order, each with its own document and `http_status`.

use super::finish;
use super::http::{rejected, with_status, Reply, MAX_BATCH_ENTRIES};
use crate::app::App;
use crate::error::{ApiError, Code};
use crate::service::Invocation;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::time::Instant;

/// The batch's entries as written, so that each entry's numbers are sent as written.
#[derive(serde::Deserialize)]
struct BatchText<'a> {
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
}

pub async fn handle(app: &App, text: &str, invocation: &Invocation, started: Instant) -> Reply {
    let request_id = &invocation.request_id;
    let entries = match entries(text) {
        Ok(entries) => entries,
        Err(error) => return rejected(app, request_id, error, started),
    };
    // Entries run concurrently; the instance's send permits and pacing bound them.
    let outcomes =
        futures_util::future::join_all(entries.iter().map(|m| app.send(m.get(), None, invocation)))
            .await;
    let results: Vec<Value> = outcomes
        .iter()
        .map(|outcome| {
            finish(app, "http:batch", request_id, None, outcome, started);
            with_status(outcome)
        })
        .collect();
    Reply::json(200, json!({ "results": results }))
}

/// The envelope checked (`{"messages": [...]}`, 1 to 100 entries), then each entry's text.
fn entries(text: &str) -> Result<Vec<&RawValue>, ApiError> {
    let body: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            Code::InvalidRequest,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let envelope = body.as_object().ok_or_else(|| {
        ApiError::new(
            Code::InvalidRequest,
            "the batch must be a JSON object with `messages`",
        )
    })?;
    if let Some(unknown) = envelope.keys().find(|k| *k != "messages") {
        return Err(ApiError::invalid(
            unknown.clone(),
            format!("unknown field `{unknown}`"),
        ));
    }
    match envelope.get("messages") {
        Some(Value::Array(list)) if (1..=MAX_BATCH_ENTRIES).contains(&list.len()) => {}
        Some(Value::Array(list)) => {
            return Err(ApiError::invalid(
                "messages",
                format!(
                    "`messages` has {} entries; 1 to {MAX_BATCH_ENTRIES} are allowed",
                    list.len()
                ),
            ))
        }
        _ => {
            return Err(ApiError::invalid(
                "messages",
                "`messages` (an array of send requests) is required",
            ))
        }
    }
    serde_json::from_str::<BatchText>(text)
        .map(|batch| batch.messages)
        .map_err(|e| ApiError::invalid("messages", format!("`messages` cannot be read: {e}")))
}
