//! meta: Meta's WhatsApp Cloud API, `POST {base}/{phone_number_id}/messages` with
//! `Authorization: Bearer`, as docs/providers.md ("meta") says, with Meta's sources. Templates have names and a language; variables are
//! positional (`{{1}}`...) or named (`{{first_name}}`); a header (text or media) and buttons
//! come in the `meta` block. Errors are mapped on `error.code`, never on the HTTP status
//! (Meta's own advice: its throttling codes come back as HTTP 400), and throughput is limited
//! per sending number (80/s by default).

mod codes;
mod components;
mod message;
mod webhook;
mod wire;

use crate::error::ApiError;
use crate::providers::answers::{
    json_body, undocumented, MAX_CODE_CHARS, MAX_ID_CHARS, MAX_MESSAGE_CHARS,
};
use crate::providers::provider::{
    Accepted, Auth, Defaults, Input, Message, Provider, RawAnswer, Webhook,
};
use crate::providers::redact::Redact;
use serde_json::{Map, Value};

use codes::{classify, is_documented};
use message::NAME;

/// Meta's codes for a token it does not accept: the secret is fetched again.
const TOKEN_REFUSED: &[i64] = &[0, 190];

/// Meta's throttling codes, waited out within the time left like an HTTP 429. Not 131056
/// (one recipient, too often): Meta asks for a wait no invocation has, so it is answered at
/// once with `PAIR_RATE_WAIT` as `Retry-After`.
const THROTTLED: &[i64] = &[4, 80007, 130429];

/// The least wait Meta advises after 131056: one message to one recipient every 6 seconds.
const PAIR_RATE_WAIT: std::time::Duration = std::time::Duration::from_secs(6);

/// The first statuses of an accepted template message: Meta's pacing words.
const FIRST_STATUSES: &[&str] = &["accepted", "held_for_quality_assessment"];

pub struct Meta;

impl Provider for Meta {
    fn name(&self) -> &'static str {
        NAME
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            base_url: "https://graph.facebook.com/v25.0",
            max_rps: Some(80.0),
        }
    }

    fn key_field(&self) -> &'static str {
        "access_token"
    }

    fn auth(&self) -> Auth {
        Auth::Bearer
    }

    fn parse(&self, input: &Input<'_>) -> Result<Box<dyn Message>, ApiError> {
        Ok(Box::new(message::MetaMessage::parse(input)?))
    }

    fn interpret(&self, answer: &RawAnswer, redact: &Redact) -> Result<Accepted, ApiError> {
        let json = json_body(answer);
        let error = json.as_ref().and_then(|j| j.get("error"));
        if let Some(code) = error.and_then(|e| e.get("code")).and_then(Value::as_i64) {
            return Err(refusal(code, error.unwrap_or(&Value::Null), answer, redact));
        }
        let message = json
            .as_ref()
            .and_then(|j| j.get("messages"))
            .and_then(|m| m.get(0));
        let id = message.and_then(|m| m.get("id")).and_then(Value::as_str);
        match id {
            Some(id) if answer.status == 200 && !id.is_empty() => {
                let status = message
                    .and_then(|m| m.get("message_status"))
                    .and_then(Value::as_str)
                    .map(str::to_lowercase)
                    .unwrap_or_else(|| "accepted".into());
                if !FIRST_STATUSES.contains(&status.as_str()) {
                    return Err(undocumented(NAME, answer, "an undocumented message_status"));
                }
                let mut details = Map::new();
                let wa_id = json
                    .as_ref()
                    .and_then(|j| j.pointer("/contacts/0/wa_id"))
                    .and_then(Value::as_str);
                if let Some(wa_id) = wa_id {
                    details.insert("wa_id".into(), redact.text(wa_id, MAX_CODE_CHARS).into());
                }
                Ok(Accepted {
                    status,
                    message_id: redact.id(id, MAX_ID_CHARS),
                    details,
                })
            }
            _ if answer.status == 200 => Err(undocumented(NAME, answer, "no messages[0].id")),
            _ => Err(undocumented(NAME, answer, "no error.code")),
        }
    }

    fn key_refused(&self, answer: &RawAnswer) -> bool {
        error_code(answer).is_some_and(|code| TOKEN_REFUSED.contains(&code))
    }

    fn throttled(&self, answer: &RawAnswer) -> bool {
        error_code(answer).is_some_and(|code| THROTTLED.contains(&code))
    }

    fn webhook(&self) -> Option<&dyn Webhook> {
        Some(&webhook::MetaWebhook)
    }
}

fn error_code(answer: &RawAnswer) -> Option<i64> {
    json_body(answer)?.get("error")?.get("code")?.as_i64()
}

/// A Meta error: mapped on its code; `fbtrace_id` kept for Meta support.
fn refusal(code: i64, error: &Value, answer: &RawAnswer, redact: &Redact) -> ApiError {
    let trace = error
        .get("fbtrace_id")
        .and_then(Value::as_str)
        .map(|trace| {
            let mut details = Map::new();
            details.insert("fbtrace_id".into(), redact.id(trace, MAX_CODE_CHARS).into());
            Box::new(details)
        });
    if !is_documented(code) && answer.status >= 500 {
        // Graph's own transient errors (1, 2) and anything else Meta does not document for
        // sends: a server error, after which the message may have been sent.
        let mut failed = undocumented(NAME, answer, "a server error");
        failed.provider_code = Some(code.to_string());
        failed.provider_details = trace;
        return failed;
    }
    let (ours, retryable) = classify(code, error);
    let said = error
        .pointer("/error_data/details")
        .or_else(|| error.get("message"))
        .and_then(Value::as_str)
        .map(|text| redact.text(text, MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| format!("meta refused the request (error {code})"));
    let mut refused = ApiError::new(ours, said).with_provider(NAME);
    refused.provider_status = Some(answer.status);
    refused.provider_code = Some(code.to_string());
    refused.retryable = retryable;
    if code == 131056 {
        refused = refused.with_retry_after(Some(PAIR_RATE_WAIT));
    }
    refused.provider_details = trace;
    refused
}

#[cfg(test)]
mod tests;
