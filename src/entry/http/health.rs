//! `GET /v1/health`: liveness; calls no provider and reads no secret.

use super::reply::{Call, Reply};
use crate::infra::telemetry::{log_request, Report};
use futures_util::future::BoxFuture;
use serde_json::json;

pub fn handle<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Reply> {
    Box::pin(async move {
        // A request like any other: one log line, no metric (nothing is sent).
        let report = Report {
            outcome: "ok".into(),
            caller: call.caller.name.clone(),
            ..Report::default()
        };
        log_request(
            "http",
            &call.invocation.request_id,
            None,
            &report,
            call.started.elapsed(),
        );
        Reply::json(
            200,
            json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
        )
    })
}
