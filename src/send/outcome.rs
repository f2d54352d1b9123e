//! What one send came to, typed (a success, a dry run, or the contract's error), and its
//! rendering as the contract's document (section 4). Each entry point puts it in its own
//! envelope; an idempotent replay reads a stored answer back into the same types.

use crate::error::ApiError;
use crate::providers::ProviderRequest;
use crate::telemetry::Report;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A message the provider accepted (contract section 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    pub provider: String,
    pub status: String,
    pub message_id: String,
    pub to: String,
    pub client_reference: Option<String>,
    pub provider_details: Map<String, Value>,
}

/// What a dry run would have sent.
#[derive(Clone, Debug)]
pub struct DryRun {
    pub provider: &'static str,
    pub to: String,
    pub request: ProviderRequest,
}

#[derive(Clone, Debug)]
pub enum Answer {
    Sent(Sent),
    DryRun(DryRun),
}

/// What one send came to; each entry point renders it in its own envelope.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub result: Result<Answer, ApiError>,
    /// The request id the answer carries (a replay's is the first request's).
    pub request_id: String,
    /// The stored answer of an earlier request with the same idempotency key.
    pub replay: bool,
    pub report: Report,
}

impl Outcome {
    pub fn error(error: ApiError, request_id: &str, mut report: Report) -> Outcome {
        report.outcome = error.code.as_str().to_string();
        report.provider = report.provider.or_else(|| error.provider.clone());
        report.provider_status = report.provider_status.or(error.provider_status);
        report.provider_details = error
            .provider_details
            .as_ref()
            .map(|details| Value::Object((**details).clone()).to_string());
        Outcome {
            result: Err(error),
            request_id: request_id.to_string(),
            replay: false,
            report,
        }
    }

    pub fn http_status(&self) -> u16 {
        match &self.result {
            Ok(_) => 200,
            Err(error) => error.http_status(),
        }
    }

    /// The contract's document: a success, a dry run or an error (section 4).
    pub fn document(&self) -> Value {
        match &self.result {
            Ok(Answer::Sent(sent)) => {
                let mut document = serde_json::to_value(sent).unwrap_or_default();
                document["request_id"] = json!(self.request_id);
                document
            }
            Ok(Answer::DryRun(dry)) => json!({
                "dry_run": true,
                "provider": dry.provider,
                "to": dry.to,
                "provider_request": { "method": "POST", "url": dry.request.url.as_str(), "body": dry.request.body },
            }),
            Err(error) => error.to_document(&self.request_id),
        }
    }

    /// `Retry-After`, when the provider (or our own pacing) said how long to wait.
    pub fn retry_after(&self) -> Option<u32> {
        self.result.as_ref().err().and_then(|e| e.retry_after)
    }

    /// A stored answer read back for a replay; `None` when it cannot be read.
    pub(crate) fn replayed(
        http_status: u16,
        document: &Value,
        mut report: Report,
    ) -> Option<Outcome> {
        let (result, request_id) = if http_status == 200 {
            let sent: Sent = serde_json::from_value(document.clone()).ok()?;
            report.outcome = sent.status.clone();
            (
                Ok(Answer::Sent(sent)),
                document["request_id"].as_str()?.to_string(),
            )
        } else {
            let (error, request_id) = ApiError::from_document(document)?;
            report.outcome = error.code.as_str().to_string();
            (Err(error), request_id)
        };
        report.unmetered = true;
        Some(Outcome {
            result,
            request_id,
            replay: true,
            report,
        })
    }
}
