//! meta: Meta's WhatsApp Cloud API, `POST {base}/{phone_number_id}/messages` with
//! `Authorization: Bearer`, as docs/providers.md ("meta") says, with Meta's sources. Templates have names and a language; variables are
//! positional (`{{1}}`...) or named (`{{first_name}}`); a header (text or media) and buttons
//! come in the `meta` block. Errors are mapped on `error.code`, never on the HTTP status
//! (Meta's own advice: its throttling codes come back as HTTP 400), and throughput is limited
//! per sending number (80/s by default).

use super::answers::{json_body, undocumented, MAX_CODE_CHARS, MAX_ID_CHARS, MAX_MESSAGE_CHARS};
use super::{
    endpoint, Accepted, Auth, Defaults, Input, Message, Provider, ProviderRequest, RawAnswer,
    Redact, Settings,
};
use crate::error::{ApiError, Code};
use crate::infra::secrets::Secret;
use serde::Serialize;
use serde_json::{json, Map, Value};

const NAME: &str = "meta";
const BLOCK_FIELDS: &[&str] = &["language", "phone_number_id", "header", "buttons"];
const MAX_TEMPLATE_CHARS: usize = 512;
const MAX_HEADER_TEXT: usize = 60;
const MAX_BUTTONS: usize = 10;
const MAX_COUPON_CODE: usize = 15;
const MAX_NUMBER_ID: usize = 32;

/// A Graph id of a sending number: digits only, since it becomes a segment of the URL.
fn is_number_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_NUMBER_ID && id.bytes().all(|b| b.is_ascii_digit())
}

/// Meta's error codes and ours (docs/providers.md, "meta"). Codes not
/// listed are `PROVIDER_REJECTED` with the number as `provider_code`.
fn code_for(code: i64) -> Code {
    match code {
        0 | 190 | 10 | 200..=299 | 131005 => Code::ProviderAuthFailed,
        4 | 80007 | 130429 | 131056 => Code::RateLimited,
        131000 | 131016 | 131057 | 133004 => Code::ProviderUnavailable,
        132001 => Code::TemplateNotFound,
        132000 | 132012 => Code::TemplateMismatch,
        132015 | 132016 => Code::TemplateNotApproved,
        131042 => Code::InsufficientBalance,
        _ => Code::ProviderRejected,
    }
}

/// Refusals Meta says may succeed later: the per-user marketing limit (after 24 h), a
/// throttled flow (hourly), a messaging limit lifted after its enforcement period.
const RETRY_LATER: &[i64] = &[131049, 132069, 131064];

/// Meta's codes for a token it does not accept: the secret is fetched again.
const TOKEN_REFUSED: &[i64] = &[0, 190];

/// Meta's throttling codes, waited out within the time left like an HTTP 429. Not 131056
/// (one recipient, too often): Meta asks for a wait no invocation has, so it is answered at
/// once with `PAIR_RATE_WAIT` as `Retry-After`.
const THROTTLED: &[i64] = &[4, 80007, 130429];

/// The least wait Meta advises after 131056: one message to one recipient every 6 seconds.
const PAIR_RATE_WAIT: std::time::Duration = std::time::Duration::from_secs(6);

/// The codes Meta documents for template sends (its error-code page, as of 2026-09):
/// another code is not documented, and on an HTTP 5xx it is a server error after which the
/// message may have been sent.
const DOCUMENTED: &[i64] = &[
    0, 3, 4, 10, 100, 190, 368, 80007, 130403, 130429, 130472, 130497, 131000, 131005, 131008,
    131009, 131016, 131021, 131026, 131031, 131037, 131042, 131045, 131047, 131048, 131049, 131050,
    131051, 131052, 131053, 131056, 131057, 131063, 131064, 132000, 132001, 132005, 132007, 132012,
    132015, 132016, 132068, 132069, 133004, 133010, 135000,
];

fn is_documented(code: i64) -> bool {
    DOCUMENTED.contains(&code) || (200..=299).contains(&code)
}

/// The first statuses of an accepted template message: Meta's pacing words.
const FIRST_STATUSES: &[&str] = &["accepted", "held_for_quality_assessment"];

pub struct Meta;

/// A Meta template send: the Graph API body, but for the language and the sending number,
/// which may come from the secret.
#[derive(Serialize)]
struct MetaMessage {
    phone_number_id: Option<String>,
    language: Option<String>,
    to: String,
    template: String,
    components: Vec<Value>,
}

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
        if input.media_url.is_some() {
            return Err(ApiError::invalid(
                "media_url",
                "`media_url` is not supported by meta: give a media header in `meta.header`",
            ));
        }
        let block = MetaBlock::read(input.block)?;
        let mut components = Vec::new();
        if let Some(header) = block.header()? {
            components.push(header);
        }
        if let Some(body) = body(input)? {
            components.push(body);
        }
        components.extend(block.buttons()?);
        Ok(Box::new(MetaMessage {
            phone_number_id: block.number_id()?,
            language: block.text("language", 32)?,
            to: input.to.e164().to_string(),
            template: template(input.template)?,
            components,
        }))
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
}

impl Message for MetaMessage {
    fn needs_secret(&self) -> bool {
        self.phone_number_id.is_none() || self.language.is_none()
    }

    fn build(
        &self,
        secret: Option<&Secret>,
        settings: &Settings,
    ) -> Result<ProviderRequest, ApiError> {
        let from_secret = |field: &str| -> Result<Option<String>, ApiError> {
            Ok(secret
                .map(|s| s.text(field))
                .transpose()?
                .flatten()
                .map(str::to_string))
        };
        let missing = |what: &str| {
            ApiError::new(
                Code::ConfigurationError,
                format!(
                    "no meta {what}: give `meta.{what}` or put `{what}` in the provider's secret"
                ),
            )
            .with_provider(NAME)
        };
        let phone_number_id = match &self.phone_number_id {
            Some(id) => id.clone(),
            None => from_secret("phone_number_id")?.ok_or_else(|| missing("phone_number_id"))?,
        };
        if !is_number_id(&phone_number_id) {
            return Err(ApiError::new(
                Code::ConfigurationError,
                "the secret's meta `phone_number_id` must be the sending number's Graph id (digits)",
            )
            .with_provider(NAME));
        }
        let language = match &self.language {
            Some(code) => code.clone(),
            None => from_secret("language")?.ok_or_else(|| missing("language"))?,
        };
        let mut template = json!({"name": self.template, "language": {"code": language}});
        if !self.components.is_empty() {
            template["components"] = json!(self.components);
        }
        Ok(ProviderRequest {
            url: endpoint(&settings.base_url, &format!("{phone_number_id}/messages")),
            body: json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": self.to,
                "type": "template",
                "template": template,
            }),
        })
    }

    /// Meta limits each sending number.
    fn pace_key(&self, secret: &Secret) -> Option<String> {
        match &self.phone_number_id {
            Some(id) => Some(id.clone()),
            None => secret
                .text("phone_number_id")
                .ok()
                .flatten()
                .map(str::to_string),
        }
    }

    fn fingerprint(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn personal_values(&self) -> Vec<&str> {
        // Header text and button values are the request's own values, like its variables.
        self.components
            .iter()
            .filter_map(|c| c.get("parameters").and_then(Value::as_array))
            .flatten()
            .flat_map(|p| {
                let media = ["image", "video", "document"]
                    .map(|kind| p.pointer(&format!("/{kind}/link")).and_then(Value::as_str));
                ["text", "payload", "coupon_code"]
                    .map(|k| p.get(k).and_then(Value::as_str))
                    .into_iter()
                    .chain(media)
            })
            .flatten()
            .collect()
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
    let ours = code_for(code);
    let said = error
        .pointer("/error_data/details")
        .or_else(|| error.get("message"))
        .and_then(Value::as_str)
        .map(|text| redact.text(text, MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| format!("meta refused the request (error {code})"));
    let mut refused = ApiError::new(ours, said).with_provider(NAME);
    refused.provider_status = Some(answer.status);
    refused.provider_code = Some(code.to_string());
    if ours == Code::ProviderRejected && RETRY_LATER.contains(&code) {
        refused.retryable = Some(true);
    }
    if ours == Code::ProviderRejected && !is_documented(code) {
        // Meta's own word on whether an error it does not document may pass later.
        refused.retryable = error.get("is_transient").and_then(Value::as_bool);
    }
    if code == 131056 {
        refused = refused.with_retry_after(Some(PAIR_RATE_WAIT));
    }
    refused.provider_details = trace;
    refused
}

fn template(value: Option<&Value>) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::invalid("template", format!("`template` {why}"));
    match value {
        None | Some(Value::Null) => Err(bad("is required")),
        Some(Value::String(name)) if name.trim().is_empty() => {
            Err(bad("must be a non-empty template name for meta"))
        }
        Some(Value::String(name)) if name.chars().count() > MAX_TEMPLATE_CHARS => Err(bad(
            &format!("must be at most {MAX_TEMPLATE_CHARS} characters"),
        )),
        Some(Value::String(name)) => Ok(name.clone()),
        Some(_) => Err(bad("must be the template's name (a string) for meta")),
    }
}

/// The body component: positional values (an array, or an object keyed "1".."n") or named
/// ones (an object keyed by Meta placeholder names); a mix is refused.
fn body(input: &Input<'_>) -> Result<Option<Value>, ApiError> {
    let variables = input.variables;
    if variables.is_empty() {
        return Ok(None);
    }
    let is_name = |k: &str| {
        k.starts_with(|c: char| c.is_ascii_lowercase())
            && k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let named = variables.is_named() && variables.entries().iter().any(|(k, _)| is_name(k));
    let parameters: Vec<Value> = if named {
        if let Some((k, _)) = variables.entries().iter().find(|(k, _)| !is_name(k)) {
            return Err(ApiError::invalid(
                format!("variables.{k}"),
                "meta variables are all positional (\"1\"..\"n\") or all named (lower-case letters, digits and underscores, starting with a letter), not a mix",
            ));
        }
        variables
            .entries()
            .iter()
            .map(|(k, v)| json!({"type": "text", "parameter_name": k, "text": v}))
            .collect()
    } else {
        variables
            .positional(NAME)?
            .into_iter()
            .map(|v| json!({"type": "text", "text": v}))
            .collect()
    };
    Ok(Some(json!({"type": "body", "parameters": parameters})))
}

/// The request's `meta` block.
struct MetaBlock<'a>(Option<&'a Map<String, Value>>);

impl<'a> MetaBlock<'a> {
    fn read(block: Option<&'a Map<String, Value>>) -> Result<Self, ApiError> {
        if let Some(unknown) = block
            .into_iter()
            .flat_map(|b| b.keys())
            .find(|k| !BLOCK_FIELDS.contains(&k.as_str()))
        {
            let field = format!("{NAME}.{unknown}");
            return Err(ApiError::invalid(
                &field,
                format!("unknown field `{field}`"),
            ));
        }
        Ok(MetaBlock(block))
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.and_then(|b| b.get(name)).filter(|v| !v.is_null())
    }

    fn text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        let field = format!("{NAME}.{name}");
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(ApiError::invalid(
                &field,
                format!("`{field}` must be a non-empty string of at most {max} characters"),
            )),
        }
    }

    /// `phone_number_id`: the Graph id of the sending number, digits only.
    fn number_id(&self) -> Result<Option<String>, ApiError> {
        match self.get("phone_number_id") {
            None => Ok(None),
            Some(Value::String(id)) if is_number_id(id) => Ok(Some(id.clone())),
            Some(_) => Err(ApiError::invalid(
                "meta.phone_number_id",
                format!("`meta.phone_number_id` must be the sending number's Graph id: 1 to {MAX_NUMBER_ID} digits"),
            )),
        }
    }

    /// `{"type": "image" | "video" | "document", "link": <https URL>}` or
    /// `{"type": "text", "text": ...}`.
    fn header(&self) -> Result<Option<Value>, ApiError> {
        let Some(header) = self.get("header") else {
            return Ok(None);
        };
        let bad = |field: &str, why: &str| {
            ApiError::invalid(format!("meta.header{field}"), why.to_string())
        };
        let header = header
            .as_object()
            .ok_or_else(|| bad("", "`meta.header` must be an object"))?;
        let kind = header.get("type").and_then(Value::as_str);
        let allowed: &[&str] = match kind {
            Some("text") => &["type", "text"],
            _ => &["type", "link"],
        };
        if let Some(unknown) = header.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(bad(
                &format!(".{unknown}"),
                &format!("unknown field `meta.header.{unknown}`"),
            ));
        }
        let parameter = match kind {
            Some("text") => {
                let text = header
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty() && t.chars().count() <= MAX_HEADER_TEXT)
                    .ok_or_else(|| bad(".text", "`meta.header.text` must be 1 to 60 characters"))?;
                json!({"type": "text", "text": text})
            }
            Some(media @ ("image" | "video" | "document")) => {
                let link = header
                    .get("link")
                    .and_then(Value::as_str)
                    .filter(|l| {
                        reqwest::Url::parse(l)
                            .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
                    })
                    .ok_or_else(|| {
                        bad(".link", "`meta.header.link` must be an absolute https URL")
                    })?;
                json!({"type": media, media: {"link": link}})
            }
            _ => return Err(bad(
                ".type",
                "`meta.header.type` must be one of \"text\", \"image\", \"video\", \"document\"",
            )),
        };
        Ok(Some(json!({"type": "header", "parameters": [parameter]})))
    }

    /// `[{"sub_type": "url" | "quick_reply" | "copy_code", "index": 0..9, "value": ...}]`.
    fn buttons(&self) -> Result<Vec<Value>, ApiError> {
        let Some(buttons) = self.get("buttons") else {
            return Ok(Vec::new());
        };
        let list = buttons
            .as_array()
            .filter(|l| l.len() <= MAX_BUTTONS)
            .ok_or_else(|| {
                ApiError::invalid(
                    "meta.buttons",
                    "`meta.buttons` must be an array of at most 10 buttons",
                )
            })?;
        list.iter()
            .enumerate()
            .map(|(i, button)| {
                let field = |name: &str| format!("meta.buttons[{i}]{name}");
                let bad = |name: &str, why: &str| ApiError::invalid(field(name), format!("`{}` {why}", field(name)));
                let button = button.as_object().ok_or_else(|| bad("", "must be an object"))?;
                if let Some(unknown) = button.keys().find(|k| !["sub_type", "index", "value"].contains(&k.as_str())) {
                    return Err(bad(&format!(".{unknown}"), "is not a button field"));
                }
                let index = button
                    .get("index")
                    .and_then(Value::as_u64)
                    .filter(|i| *i <= 9)
                    .ok_or_else(|| bad(".index", "must be an integer from 0 to 9"))?;
                let value = button
                    .get("value")
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty() && v.chars().count() <= 2000)
                    .ok_or_else(|| bad(".value", "must be a non-empty string"))?;
                let sub_type = button.get("sub_type").and_then(Value::as_str);
                let parameter = match sub_type {
                    Some("url") => json!({"type": "text", "text": value}),
                    Some("quick_reply") => json!({"type": "payload", "payload": value}),
                    Some("copy_code") if value.chars().count() <= MAX_COUPON_CODE => {
                        json!({"type": "coupon_code", "coupon_code": value})
                    }
                    Some("copy_code") => return Err(bad(".value", "must be at most 15 characters for copy_code")),
                    _ => return Err(bad(".sub_type", "must be one of \"url\", \"quick_reply\", \"copy_code\"")),
                };
                Ok(json!({"type": "button", "sub_type": sub_type, "index": index.to_string(), "parameters": [parameter]}))
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "meta_tests.rs"]
mod tests;
