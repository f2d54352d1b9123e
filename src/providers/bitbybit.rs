//! bitbybit: `POST {base}/messages/send-template` with header `x-api-key`, as its OpenAPI
//! document says (docs/providers.md, "bitbybit"). Its templates have names,
//! its variables are positional, it takes a media URL, and it documents no rate.

use super::answers::{json_body, refusal, undocumented, Match, Row, MAX_CODE_CHARS, MAX_ID_CHARS};
use super::provider::{
    endpoint, Accepted, Auth, Defaults, Input, Message, Provider, ProviderRequest, RawAnswer,
    Settings,
};
use super::redact::Redact;
use crate::domain::json::read_raw;
use crate::domain::template::TemplateName;
use crate::error::{ApiError, Code};
use crate::infra::secrets::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const NAME: &str = "bitbybit";
const TEMPLATE_SOURCES: &[&str] = &["CRM", "AUTH"];
const CHANNELS: &[&str] = &["whatsapp cloud api", "whatsapp coex"];

/// The documented refusals: 400 `VALIDATION_ERROR`, 401 `INVALID_API_KEY`,
/// 403 `INSUFFICIENT_SCOPE`, 429 `RATE_LIMIT_EXCEEDED` (the last three: `answers::COMMON_ROWS`).
const TABLE: &[Row] = &[Row {
    status: 400,
    provider_code: Match::Any,
    code: Code::ProviderRejected,
}];

pub struct Bitbybit;

/// A bitbybit send, as its API takes it (the wire body itself: nothing else is sent).
#[derive(Serialize)]
struct BitbybitMessage {
    to: String,
    template_name: TemplateName,
    template_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Vec<String>>,
    #[serde(rename = "mediaUrl", skip_serializing_if = "Option::is_none")]
    media_url: Option<String>,
    #[serde(rename = "ignoreActiveTicket", skip_serializing_if = "Option::is_none")]
    ignore_active_ticket: Option<bool>,
    #[serde(rename = "countryCode", skip_serializing_if = "Option::is_none")]
    country_code: Option<String>,
}

impl Provider for Bitbybit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            base_url: "https://api.bitbybit.studio/whatsapp/open/v1",
            max_rps: None,
        }
    }

    fn auth(&self) -> Auth {
        Auth::Header("x-api-key")
    }

    fn parse(&self, input: &Input<'_>) -> Result<Box<dyn Message>, ApiError> {
        let template_name = TemplateName::parse(input.template, NAME)?;
        let params = input.variables.positional(NAME)?;
        let block = read_raw::<BitbybitBlock>(input.block, NAME)?.unwrap_or_default();
        Ok(Box::new(BitbybitMessage {
            to: input.to.digits().to_string(),
            template_name,
            // Required by bitbybit; our documented default is CRM.
            template_source: one_of(block.template_source, "template_source", TEMPLATE_SOURCES)?
                .unwrap_or("CRM"),
            sources: one_of(block.sources, "sources", CHANNELS)?,
            params: (!params.is_empty()).then(|| params.iter().map(|v| v.to_string()).collect()),
            media_url: input.media_url.map(str::to_string),
            ignore_active_ticket: boolean(block.ignore_active_ticket, "ignore_active_ticket")?,
            country_code: input.country.map(|c| c.as_str().to_string()),
        }))
    }

    fn interpret(&self, answer: &RawAnswer, redact: &Redact) -> Result<Accepted, ApiError> {
        let json = json_body(answer);
        if answer.status == 200 {
            let data = json.as_ref().and_then(|j| j.get("data"));
            let message_id = data
                .and_then(|d| d.get("messageId2"))
                .and_then(Value::as_str);
            return match message_id {
                Some(id) if !id.is_empty() => {
                    let mut details = Map::new();
                    if let Some(ts) = data
                        .and_then(|d| d.get("timestamp"))
                        .and_then(Value::as_str)
                    {
                        details.insert("timestamp".into(), redact.id(ts, MAX_CODE_CHARS).into());
                    }
                    Ok(Accepted {
                        status: "accepted".into(),
                        message_id: redact.id(id, MAX_ID_CHARS),
                        details,
                    })
                }
                _ => Err(undocumented(NAME, answer, "no data.messageId2")),
            };
        }
        let error = json.as_ref().and_then(|j| j.get("error"));
        let code = error.and_then(|e| e.get("code")).and_then(Value::as_str);
        let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
        Err(refusal(NAME, TABLE, answer, code, message, redact))
    }
}

impl Message for BitbybitMessage {
    fn build(&self, _: Option<&Secret>, settings: &Settings) -> Result<ProviderRequest, ApiError> {
        Ok(ProviderRequest {
            url: endpoint(&settings.base_url, "messages/send-template"),
            body: self.fingerprint(),
        })
    }

    /// bitbybit documents no rate; `BITBYBIT_MAX_RPS`, when set, paces each API key.
    fn fingerprint(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The request's `bitbybit` block: `template_source`, `sources`, `ignore_active_ticket`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BitbybitBlock {
    template_source: Option<Value>,
    sources: Option<Value>,
    ignore_active_ticket: Option<Value>,
}

fn one_of(
    value: Option<Value>,
    name: &str,
    allowed: &[&'static str],
) -> Result<Option<&'static str>, ApiError> {
    let field = format!("{NAME}.{name}");
    let refused = || ApiError::invalid(&field, format!("`{field}` must be one of {allowed:?}"));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => allowed
            .iter()
            .copied()
            .find(|a| *a == s)
            .map(Some)
            .ok_or_else(refused),
        Some(_) => Err(refused()),
    }
}

fn boolean(value: Option<Value>, name: &str) -> Result<Option<bool>, ApiError> {
    let field = format!("{NAME}.{name}");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(ApiError::invalid(
            &field,
            format!("`{field}` must be a boolean"),
        )),
    }
}

#[cfg(test)]
mod tests;
