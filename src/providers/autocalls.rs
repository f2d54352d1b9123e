//! autocalls: `POST {base}/api/user/whatsapp/send` with `Authorization: Bearer`, as
//! docs/providers.md ("autocalls") says (5 requests/s per user). Its templates
//! have ids, its variables are an object, it takes the recipient's name, and each send
//! names a sender (the request's, else the secret's `sender_id`).

mod webhook;

use super::answers::{json_body, refusal, undocumented, Match, Row, MAX_ID_CHARS};
use super::provider::{
    endpoint, Accepted, Auth, Defaults, Input, Message, Provider, ProviderRequest, RawAnswer,
    Settings, Webhook,
};
use super::redact::Redact;
use crate::domain::json::read_raw;
use crate::error::{ApiError, Code};
use crate::infra::secrets::Secret;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const NAME: &str = "autocalls";

/// The documented refusals ("Error Responses"); 401, 403 and 429 are `answers::COMMON_ROWS`.
const TABLE: &[Row] = &[
    Row {
        status: 402,
        provider_code: Match::Exactly("INSUFFICIENT_BALANCE"),
        code: Code::InsufficientBalance,
    },
    Row {
        status: 404,
        provider_code: Match::Exactly("SENDER_NOT_FOUND"),
        code: Code::SenderNotFound,
    },
    Row {
        status: 404,
        provider_code: Match::Exactly("TEMPLATE_NOT_FOUND"),
        code: Code::TemplateNotFound,
    },
    Row {
        status: 422,
        provider_code: Match::Exactly("SENDER_OFFLINE"),
        code: Code::SenderOffline,
    },
    Row {
        status: 422,
        provider_code: Match::Exactly("TEMPLATE_NOT_APPROVED"),
        code: Code::TemplateNotApproved,
    },
    Row {
        status: 422,
        provider_code: Match::Exactly("TEMPLATE_MISMATCH"),
        code: Code::TemplateMismatch,
    },
    Row {
        status: 422,
        provider_code: Match::Exactly("INVALID_PHONE"),
        code: Code::InvalidPhone,
    },
    // TEMPLATE_NOT_SYNCED, NO_ASSISTANT_CONFIGURED, MESSAGING_LIMIT_UNAVAILABLE,
    // VOICE_CALL_LIMIT_NOT_MET, TWILIO_ERROR_{code}, UNKNOWN_ERROR: refusals we
    // has no code of its own for; `provider_code` keeps theirs.
    Row {
        status: 422,
        provider_code: Match::Prefix("TWILIO_ERROR_"),
        code: Code::ProviderRejected,
    },
    Row {
        status: 422,
        provider_code: Match::Any,
        code: Code::ProviderRejected,
    },
];

/// The statuses of a message autocalls accepted, as its send answer gives them.
const FIRST_STATUSES: &[&str] = &["queued", "accepted", "sending", "sent"];
/// Status words that say the message failed: never a success, `success: true` or not.
const FAILED_STATUSES: &[&str] = &["failed", "undelivered", "canceled"];

pub struct Autocalls;

/// An autocalls send: its wire body, but for the sender, which may come from the secret.
#[derive(Serialize)]
struct AutocallsMessage {
    sender_id: Option<u64>,
    template_id: u64,
    recipient_phone: String,
    recipient_name: Option<String>,
    variables: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct AutocallsBody<'a> {
    sender_id: u64,
    template_id: u64,
    recipient_phone: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_name: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    variables: &'a BTreeMap<String, String>,
}

impl Provider for Autocalls {
    fn name(&self) -> &'static str {
        NAME
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            base_url: "https://app.autocalls.ai",
            max_rps: Some(5.0),
        }
    }

    fn auth(&self) -> Auth {
        Auth::Bearer
    }

    fn parse(&self, input: &Input<'_>) -> Result<Box<dyn Message>, ApiError> {
        if input.media_url.is_some() {
            return Err(ApiError::invalid(
                "media_url",
                "`media_url` is not supported by autocalls",
            ));
        }
        let sender_id = sender(input.block)?;
        Ok(Box::new(AutocallsMessage {
            sender_id,
            template_id: template_id(input.template)?,
            recipient_phone: input.to.e164().to_string(),
            recipient_name: input.recipient_name.map(str::to_string),
            // An array's names are "1".."n": autocalls takes them as an object either way.
            variables: input.variables.entries().iter().cloned().collect(),
        }))
    }

    fn interpret(&self, answer: &RawAnswer, redact: &Redact) -> Result<Accepted, ApiError> {
        let json = json_body(answer);
        let field = |name: &str| json.as_ref().and_then(|j| j.get(name));
        // A documented answer whose own status word says the message failed is a refusal,
        // whatever `success` says (docs/providers.md, "autocalls").
        let word = field("status")
            .and_then(Value::as_str)
            .map(str::to_lowercase);
        if let Some(failed) = word.as_deref().filter(|w| FAILED_STATUSES.contains(w)) {
            let mut refused = ApiError::new(
                Code::ProviderRejected,
                format!("autocalls reported the message as {failed}"),
            )
            .with_provider(NAME);
            refused.provider_status = Some(answer.status);
            refused.provider_code = Some(failed.to_string());
            return Err(refused);
        }
        if answer.status == 200 {
            let sid = field("message_sid")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let status = word.unwrap_or_else(|| "accepted".into());
            return match (field("success").and_then(Value::as_bool), sid) {
                (Some(true), Some(sid)) if FIRST_STATUSES.contains(&status.as_str()) => {
                    let details: Map<String, Value> =
                        ["conversation_id", "message_id", "whatsapp_message_id"]
                            .iter()
                            .filter_map(|k| {
                                field(k)
                                    .filter(|v| v.is_number())
                                    .map(|v| (k.to_string(), v.clone()))
                            })
                            .collect();
                    Ok(Accepted {
                        status,
                        message_id: redact.id(sid, MAX_ID_CHARS),
                        details,
                    })
                }
                (Some(true), Some(_)) => Err(undocumented(NAME, answer, "an undocumented status")),
                _ => Err(undocumented(NAME, answer, "no success and message_sid")),
            };
        }
        let code = field("error_code").and_then(Value::as_str);
        let message = field("error").and_then(Value::as_str);
        Err(refusal(NAME, TABLE, answer, code, message, redact))
    }

    fn webhook(&self) -> Option<&dyn Webhook> {
        Some(&webhook::AutocallsWebhook)
    }
}

impl Message for AutocallsMessage {
    fn needs_secret(&self) -> bool {
        self.sender_id.is_none()
    }

    fn build(
        &self,
        secret: Option<&Secret>,
        settings: &Settings,
    ) -> Result<ProviderRequest, ApiError> {
        let from_secret = secret.map(|s| s.number("sender_id")).transpose()?.flatten();
        let sender_id = self.sender_id.or(from_secret).ok_or_else(|| {
            ApiError::new(
                Code::ConfigurationError,
                "no autocalls sender_id: give `autocalls.sender_id` or put `sender_id` in the provider's secret",
            )
            .with_provider(NAME)
        })?;
        let body = AutocallsBody {
            sender_id,
            template_id: self.template_id,
            recipient_phone: &self.recipient_phone,
            recipient_name: self.recipient_name.as_deref(),
            variables: &self.variables,
        };
        Ok(ProviderRequest {
            url: endpoint(&settings.base_url, "api/user/whatsapp/send"),
            body: serde_json::to_value(body).map_err(|_| ApiError::internal())?,
        })
    }

    /// autocalls limits each user, that is each API key.
    fn fingerprint(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn template_id(value: Option<&Value>) -> Result<u64, ApiError> {
    let bad = |why: &str| ApiError::invalid("template", format!("`template` {why}"));
    match value {
        None | Some(Value::Null) => Err(bad("is required")),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|id| *id > 0)
            .ok_or_else(|| bad("must be a positive integer template id for autocalls")),
        Some(Value::String(s)) => s
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0 && s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                bad("must be a positive integer template id (or a string of digits) for autocalls")
            }),
        Some(_) => Err(bad("must be a positive integer template id for autocalls")),
    }
}

/// The request's `autocalls` block: `sender_id` only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AutocallsBlock {
    sender_id: Option<Value>,
}

fn sender(block: Option<&RawValue>) -> Result<Option<u64>, ApiError> {
    let Some(block) = read_raw::<AutocallsBlock>(block, NAME)? else {
        return Ok(None);
    };
    match block.sender_id {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().filter(|id| *id > 0).map(Some).ok_or_else(|| {
            ApiError::invalid(
                "autocalls.sender_id",
                "`autocalls.sender_id` must be a positive integer",
            )
        }),
    }
}

#[cfg(test)]
mod tests;
