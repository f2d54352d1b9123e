//! `POST /v1/messages/batch` (docs/api.md, "Batches"): 1 to 100 send requests, sent
//! concurrently and answered in order, each with its own document and `http_status`.

use super::reply::{Call, Reply};
use crate::entry::shared::{finish, isolated, with_status};
use crate::error::{field_name, ApiError, Code};
use crate::send::Context;
use futures_util::future::BoxFuture;
use serde_json::value::RawValue;
use serde_json::{json, Value};

pub const MAX_BATCH_ENTRIES: usize = 100;

/// The batch's entries as written, so that each entry's numbers are sent as written.
#[derive(serde::Deserialize)]
struct BatchText<'a> {
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
}

pub fn handle<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Reply> {
    Box::pin(async move {
        let entries = match super::reply::json_text(call).and_then(entries) {
            Ok(entries) => entries,
            Err(error) => return call.rejected(error),
        };
        let request_id = &call.invocation.request_id;
        // An `Idempotency-Key` header keys each entry without its own key by its index, so
        // that the same batch sent again sends nothing twice.
        let header = match call.idempotency_key() {
            Ok(header) => header,
            Err(error) => return call.rejected(error),
        };
        let keys: Vec<Option<String>> = (0..entries.len())
            .map(|i| header.map(|key| format!("{key}#{i}")))
            .collect();
        // Entries run concurrently, each on its own; the instance's permits and pacing bound them.
        let sends = entries.iter().zip(&keys).map(|(entry, key)| {
            let context = Context {
                invocation: call.invocation,
                default_key: key.as_deref(),
                scope: &call.caller.scope,
                caller: call.caller.name.as_deref(),
            };
            let caller = context.caller;
            async move {
                let send = call.app.sender.send(entry.get(), &context);
                isolated(send, request_id, entry.get(), caller).await
            }
        });
        let outcomes = futures_util::future::join_all(sends).await;
        let results: Vec<Value> = outcomes
            .iter()
            .map(|outcome| {
                finish(
                    call.app,
                    "http:batch",
                    request_id,
                    None,
                    outcome,
                    call.started,
                );
                with_status(outcome)
            })
            .collect();
        Reply::json(200, json!({ "results": results }))
    })
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
        let unknown = field_name(unknown);
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
