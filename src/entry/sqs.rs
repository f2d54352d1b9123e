//! SQS batches (docs/api.md, "Event sources"): every record's body is a send request;
//! records go concurrently (one after another within a FIFO message group), each on its
//! own (a panic in one is its own failure); every record not sent is named in
//! `batchItemFailures` so that SQS retries it and, in the end, dead-letters it. A record's
//! `messageId` is its key when its body has none, and keys belong to the queue.

use super::shared::{finish, isolated, FunctionError};
use crate::app::App;
use crate::infra::telemetry::Report;
use crate::providers;
use crate::send::{Context, Invocation};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Instant;

pub async fn handle(
    event: Value,
    invocation: &Invocation,
    app: &App,
) -> Result<Value, FunctionError> {
    let malformed = |reason: String| FunctionError::Malformed {
        source_name: "SQS",
        reason,
    };
    let event: SqsEvent = serde_json::from_value(event).map_err(|e| malformed(e.to_string()))?;
    // An empty or missing messageId would make Lambda fail the whole batch anyway; say so.
    if event
        .records
        .iter()
        .any(|r| r.message_id.as_deref().is_none_or(str::is_empty))
    {
        return Err(malformed("a record has no messageId".into()));
    }
    let fifo = event.records.iter().any(|r| {
        r.event_source_arn
            .as_deref()
            .is_some_and(|a| a.ends_with(".fifo"))
    });
    let sent: Vec<bool> = if fifo {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, record) in event.records.iter().enumerate() {
            let group = record
                .attributes
                .get("MessageGroupId")
                .cloned()
                .unwrap_or_default();
            groups.entry(group).or_default().push(i);
        }
        let runs = groups
            .into_values()
            .map(|indexes| send_group(app, &event.records, indexes, invocation));
        let mut sent = vec![false; event.records.len()];
        for results in futures_util::future::join_all(runs).await {
            for (i, ok) in results {
                sent[i] = ok;
            }
        }
        sent
    } else {
        futures_util::future::join_all(
            event
                .records
                .iter()
                .map(|r| send_record(app, r, invocation)),
        )
        .await
    };
    let mut response = SqsBatchResponse::default();
    for (record, ok) in event.records.iter().zip(sent) {
        if !ok {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    serde_json::to_value(response).map_err(|e| malformed(e.to_string()))
}

/// A FIFO group in order; from its first failure on, later records are not sent.
async fn send_group(
    app: &App,
    records: &[SqsMessage],
    indexes: Vec<usize>,
    invocation: &Invocation,
) -> Vec<(usize, bool)> {
    let mut results = Vec::with_capacity(indexes.len());
    let mut failed = false;
    for i in indexes {
        let ok = if failed {
            log_held_back(invocation, &records[i]);
            false
        } else {
            send_record(app, &records[i], invocation).await
        };
        failed |= !ok;
        results.push((i, ok));
    }
    results
}

/// Sends one record; `true` only when the provider accepted it.
async fn send_record(app: &App, record: &SqsMessage, invocation: &Invocation) -> bool {
    let started = Instant::now();
    let body = record.body.as_deref().unwrap_or("");
    let queue = record.event_source_arn.as_deref().unwrap_or("?");
    let scope = format!("sqs:{queue}");
    let context = Context {
        invocation,
        default_key: record.message_id.as_deref(),
        scope: &scope,
        caller: Some(queue),
    };
    let send = app.sender.send(body, &context);
    let outcome = isolated(send, &invocation.request_id, body, Some(queue)).await;
    finish(
        app,
        "sqs",
        &invocation.request_id,
        record.message_id.as_deref(),
        &outcome,
        started,
    );
    outcome.http_status() == 200
}

/// A FIFO record held back after its group's failure: no provider was called, so it is no
/// failure of its own. Its line says `held_back` (with its `client_reference`) and it has
/// no metric; it is reported in `batchItemFailures` so that SQS redelivers it in order.
fn log_held_back(invocation: &Invocation, record: &SqsMessage) {
    let body: Option<Value> = record
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok());
    let field = |name: &str| {
        body.as_ref()
            .and_then(|b| b.get(name))
            .and_then(Value::as_str)
    };
    let report = Report {
        caller: record.event_source_arn.clone(),
        provider: field("provider")
            .and_then(providers::find)
            .map(|p| p.name().to_string()),
        outcome: HELD_BACK.into(),
        client_reference: field("client_reference").map(|r| crate::infra::telemetry::clean(r, 256)),
        ..Report::default()
    };
    crate::infra::telemetry::log_request(
        "sqs",
        &invocation.request_id,
        record.message_id.as_deref(),
        &report,
        std::time::Duration::ZERO,
    );
}

/// The outcome word of a FIFO record held back after an earlier record of its group failed.
pub const HELD_BACK: &str = "held_back";
