//! `GET /v1/messages/{provider}/{message_id}` (docs/statuses.md, "The status of a message"):
//! a sent message's record and its statuses, with `STATUS_TABLE`; 404 otherwise.

use super::reply::{Call, Reply};
use crate::error::{ApiError, Code};
use crate::infra::iso8601;
use crate::infra::statuses::sender_of;
use crate::infra::telemetry::{clean, log_request, Report};
use crate::send::deadline::cutoff;
use futures_util::future::BoxFuture;
use serde_json::json;

pub fn handle<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Reply> {
    Box::pin(async move {
        let provider = call.param("provider").unwrap_or_default();
        let message_id = call.param("message_id").unwrap_or_default();
        let not_found = || {
            ApiError::new(
                Code::NotFound,
                format!(
                    "no status is known of {} message {}",
                    clean(provider, 32),
                    clean(message_id, 128)
                ),
            )
        };
        if !call.app.statuses.keeps_records() {
            return call.rejected(not_found());
        }
        let until = cutoff(call.invocation.deadline);
        let record = match call.app.statuses.status(provider, message_id, until).await {
            Ok(Some(record)) => record,
            Ok(None) => return call.rejected(not_found()),
            Err(error) => return call.rejected(error),
        };
        // Only the caller who sent it (its key scope: the IAM principal, the JWT's subject and
        // client); a record without a send (a status came first) is nobody's.
        if record.sender.as_deref() != Some(sender_of(&call.caller.scope).as_str()) {
            return call.rejected(not_found());
        }
        let report = Report {
            provider: Some(record.provider.clone()),
            outcome: record.status.clone().unwrap_or_else(|| "accepted".into()),
            caller: call.caller.name.clone(),
            ..Report::default()
        };
        log_request(
            "http:status",
            &call.invocation.request_id,
            None,
            &report,
            call.started.elapsed(),
        );
        let history: Vec<_> = record
            .history
            .iter()
            .map(|h| json!({"status": h.status, "provider_status": h.provider_status, "occurred_at": iso8601(h.occurred_at)}))
            .collect();
        Reply::json(
            200,
            json!({
                "provider": record.provider,
                "message_id": record.message_id,
                "to": record.to,
                "recipient_user_id": record.recipient_user_id,
                "client_reference": record.client_reference,
                "request_id": record.request_id,
                "sent_at": record.sent_at.map(iso8601),
                "status": record.status,
                "error": record.error,
                "pricing": record.pricing,
                "history": history,
            }),
        )
    })
}
