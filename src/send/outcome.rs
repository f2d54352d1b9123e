//! What one send came to, typed (a success, a dry run, or an error), and its rendering as
//! the answer's document (docs/api.md, "Answers"). Each entry point puts it in its own
//! envelope; an idempotent replay reads a stored answer back into the same types.

use super::context::Invocation;
use super::request::SendRequest;
use crate::error::ApiError;
use crate::infra::telemetry::Report;
use crate::providers::ProviderRequest;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A message the provider accepted (docs/api.md, "Answers").
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

/// The answer an earlier request with the same key left.
pub enum EarlierAnswer {
    Stored {
        http_status: u16,
        document: Value,
    },
    /// It may have been sent and its outcome was never stored, or cannot be read.
    Unknown(ApiError),
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

    /// The answer's document: a success, a dry run or an error (docs/api.md, "Answers").
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

    /// The document kept for replays: the answer without the recipient's number (a replay
    /// takes it from its own request, which the fingerprint proved to be the same).
    pub fn stored_document(&self) -> Value {
        let mut document = self.document();
        if let Some(map) = document.as_object_mut() {
            map.remove("to");
        }
        document
    }
}

/// The outcome of a send or a dry run.
pub(super) fn answer(
    result: Result<Answer, ApiError>,
    invocation: &Invocation,
    mut report: Report,
) -> Outcome {
    match result {
        Ok(answer) => {
            report.outcome = match &answer {
                Answer::Sent(sent) => sent.status.clone(),
                Answer::DryRun(_) => "dry_run".into(),
            };
            report.sent = matches!(answer, Answer::Sent(_));
            report.unmetered = !report.sent;
            Outcome {
                result: Ok(answer),
                request_id: invocation.request_id.clone(),
                replay: false,
                report,
            }
        }
        Err(error) => Outcome::error(error, &invocation.request_id, report),
    }
}

/// An earlier request's answer for a repeat of its key: the stored document (with this
/// request's `to`), or `DELIVERY_UNKNOWN` when it may have been sent and nothing readable
/// was stored.
pub(super) fn replayed(
    earlier: EarlierAnswer,
    request: &SendRequest,
    request_id: &str,
    mut report: Report,
) -> Outcome {
    report.unmetered = true;
    let read = match earlier {
        EarlierAnswer::Stored {
            http_status,
            document,
        } => read_back(http_status, document, request),
        EarlierAnswer::Unknown(error) => Some((Err(error), request_id.to_string())),
    };
    // Only sent or maybe-sent answers are stored: one that cannot be read still says so.
    let (result, request_id) = read.unwrap_or_else(|| (Err(unreadable()), request_id.to_string()));
    report.outcome = match &result {
        Ok(Answer::Sent(sent)) => sent.status.clone(),
        Ok(Answer::DryRun(_)) => "dry_run".into(),
        Err(error) => error.code.as_str().to_string(),
    };
    Outcome {
        result,
        request_id,
        replay: true,
        report,
    }
}

type ReadBack = (Result<Answer, ApiError>, String);

fn read_back(http_status: u16, mut document: Value, request: &SendRequest) -> Option<ReadBack> {
    if http_status == 200 {
        document["to"] = json!(request.to().e164());
        let request_id = document["request_id"].as_str()?.to_string();
        let sent: Sent = serde_json::from_value(document).ok()?;
        Some((Ok(Answer::Sent(sent)), request_id))
    } else {
        let (error, request_id) = ApiError::from_document(&document)?;
        Some((Err(error), request_id))
    }
}

/// Only sent or maybe-sent outcomes are stored: one that cannot be read still says so.
pub(super) fn unreadable() -> ApiError {
    unknown("an earlier request with this idempotency key was sent or may have been, and its stored answer cannot be read by this version")
}

/// A maybe-sent answer to a repeat of a key, saying `why`.
pub(super) fn unknown(why: &str) -> ApiError {
    ApiError::new(
        crate::error::Code::DeliveryUnknown,
        format!("{why}; this idempotency key will not send it again"),
    )
    .maybe_sent()
}
