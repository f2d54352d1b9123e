//! A Meta send as the request gives it: the `meta` block (a language, a sending number, a
//! header and buttons, each read into its type), the body's parameters from the variables,
//! and the message built into the Graph API's body (`wire`) with the secret's defaults.

use super::wire::{ButtonKind, Component, GraphBody, Language, Link, Parameter, Template};
use crate::domain::json::{read, read_raw};
use crate::domain::template::TemplateName;
use crate::error::{ApiError, Code};
use crate::infra::secrets::Secret;
use crate::providers::provider::{endpoint, Input, Message, ProviderRequest, Settings};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Its name in requests, the secret and the environment.
pub(super) const NAME: &str = "meta";
const MAX_HEADER_TEXT: usize = 60;
const MAX_BUTTONS: usize = 10;
const MAX_BUTTON_VALUE: usize = 2000;
const MAX_COUPON_CODE: usize = 15;
const MAX_NUMBER_ID: usize = 32;

/// A Graph id of a sending number: digits only, since it becomes a segment of the URL.
pub(super) fn is_number_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_NUMBER_ID && id.bytes().all(|b| b.is_ascii_digit())
}

/// The request's `meta` block, as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaBlock {
    language: Option<Value>,
    phone_number_id: Option<Value>,
    header: Option<Value>,
    buttons: Option<Value>,
}

/// `meta.header`: a text, or a media link; its fields depend on its `type`.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum HeaderWire {
    Text { text: Option<Value> },
    Image { link: Option<Value> },
    Video { link: Option<Value> },
    Document { link: Option<Value> },
}

/// One of `meta.buttons`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ButtonWire {
    sub_type: Option<Value>,
    index: Option<Value>,
    value: Option<Value>,
}

/// A Meta template send: the Graph API body, but for the language and the sending number,
/// which may come from the secret.
#[derive(Serialize)]
pub(super) struct MetaMessage {
    phone_number_id: Option<String>,
    language: Option<String>,
    to: String,
    template: TemplateName,
    components: Vec<Component>,
}

impl MetaMessage {
    pub fn parse(input: &Input<'_>) -> Result<MetaMessage, ApiError> {
        if input.media_url.is_some() {
            return Err(ApiError::invalid(
                "media_url",
                "`media_url` is not supported by meta: give a media header in `meta.header`",
            ));
        }
        let block = read_raw::<MetaBlock>(input.block, NAME)?.unwrap_or_default();
        let mut components = Vec::new();
        if let Some(header) = header(block.header)? {
            components.push(header);
        }
        if let Some(body) = body(input)? {
            components.push(body);
        }
        components.extend(buttons(block.buttons)?);
        Ok(MetaMessage {
            phone_number_id: number_id(block.phone_number_id)?,
            language: text(block.language, "language", 32)?,
            to: input.to.e164().to_string(),
            template: TemplateName::parse(input.template, NAME)?,
            components,
        })
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
        let body = GraphBody {
            messaging_product: "whatsapp",
            recipient_type: "individual",
            to: &self.to,
            kind: "template",
            template: Template {
                name: self.template.as_str(),
                language: Language { code: &language },
                components: &self.components,
            },
        };
        Ok(ProviderRequest {
            url: endpoint(&settings.base_url, &format!("{phone_number_id}/messages")),
            body: serde_json::to_value(body).map_err(|_| ApiError::internal())?,
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
        // Header text and links, body texts and button values: the request's own values.
        self.components
            .iter()
            .flat_map(Component::parameters)
            .map(Parameter::value)
            .collect()
    }
}

fn text(value: Option<Value>, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    let field = format!("{NAME}.{name}");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(
            &field,
            format!("`{field}` must be a non-empty string of at most {max} characters"),
        )),
    }
}

/// `phone_number_id`: the Graph id of the sending number, digits only.
fn number_id(value: Option<Value>) -> Result<Option<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) if is_number_id(&id) => Ok(Some(id)),
        Some(_) => Err(ApiError::invalid(
            "meta.phone_number_id",
            format!("`meta.phone_number_id` must be the sending number's Graph id: 1 to {MAX_NUMBER_ID} digits"),
        )),
    }
}

/// The body component: positional values (an array, or an object keyed "1".."n") or named
/// ones (an object keyed by Meta placeholder names); a mix is refused.
fn body(input: &Input<'_>) -> Result<Option<Component>, ApiError> {
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
    let text = |name: Option<&str>, value: &str| Parameter::Text {
        parameter_name: name.map(str::to_string),
        text: value.to_string(),
    };
    let parameters: Vec<Parameter> = if named {
        if let Some((k, _)) = variables.entries().iter().find(|(k, _)| !is_name(k)) {
            return Err(ApiError::invalid(
                format!("variables.{k}"),
                "meta variables are all positional (\"1\"..\"n\") or all named (lower-case letters, digits and underscores, starting with a letter), not a mix",
            ));
        }
        variables
            .entries()
            .iter()
            .map(|(k, v)| text(Some(k), v))
            .collect()
    } else {
        variables
            .positional(NAME)?
            .into_iter()
            .map(|v| text(None, v))
            .collect()
    };
    Ok(Some(Component::Body { parameters }))
}

/// `{"type": "image" | "video" | "document", "link": <https URL>}` or
/// `{"type": "text", "text": ...}`.
fn header(header: Option<Value>) -> Result<Option<Component>, ApiError> {
    let Some(header) = header.filter(|h| !h.is_null()) else {
        return Ok(None);
    };
    let bad =
        |field: &str, why: &str| ApiError::invalid(format!("meta.header{field}"), why.to_string());
    if !header.is_object() {
        return Err(bad("", "`meta.header` must be an object"));
    }
    let type_refused = || {
        bad(
            ".type",
            "`meta.header.type` must be one of \"text\", \"image\", \"video\", \"document\"",
        )
    };
    let wire =
        read::<HeaderWire>(&header.to_string(), "meta.header").map_err(|error| {
            match error.message.starts_with("unknown field") {
                true => error,
                false => type_refused(),
            }
        })?;
    let link = |link: Option<Value>| {
        link.and_then(|l| l.as_str().map(str::to_string))
            .filter(|l| {
                reqwest::Url::parse(l)
                    .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
            })
            .map(|link| Link { link })
            .ok_or_else(|| bad(".link", "`meta.header.link` must be an absolute https URL"))
    };
    let parameter = match wire {
        HeaderWire::Text { text } => {
            let text = text
                .and_then(|t| t.as_str().map(str::to_string))
                .filter(|t| !t.is_empty() && t.chars().count() <= MAX_HEADER_TEXT)
                .ok_or_else(|| bad(".text", "`meta.header.text` must be 1 to 60 characters"))?;
            Parameter::Text {
                parameter_name: None,
                text,
            }
        }
        HeaderWire::Image { link: l } => Parameter::Image { image: link(l)? },
        HeaderWire::Video { link: l } => Parameter::Video { video: link(l)? },
        HeaderWire::Document { link: l } => Parameter::Document { document: link(l)? },
    };
    Ok(Some(Component::Header {
        parameters: vec![parameter],
    }))
}

/// `[{"sub_type": "url" | "quick_reply" | "copy_code", "index": 0..9, "value": ...}]`.
fn buttons(buttons: Option<Value>) -> Result<Vec<Component>, ApiError> {
    let list = match buttons {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) if list.len() <= MAX_BUTTONS => list,
        Some(_) => {
            return Err(ApiError::invalid(
                "meta.buttons",
                "`meta.buttons` must be an array of at most 10 buttons",
            ))
        }
    };
    list.iter()
        .enumerate()
        .map(|(i, button)| {
            let field = |name: &str| format!("meta.buttons[{i}]{name}");
            let bad = |name: &str, why: &str| {
                ApiError::invalid(field(name), format!("`{}` {why}", field(name)))
            };
            if !button.is_object() {
                return Err(bad("", "must be an object"));
            }
            let wire = read::<ButtonWire>(&button.to_string(), &field("")).map_err(|error| {
                let at = error.field.clone().unwrap_or_default();
                ApiError::invalid(at.clone(), format!("`{at}` is not a button field"))
            })?;
            let index = wire
                .index
                .and_then(|i| i.as_u64())
                .filter(|i| *i <= 9)
                .ok_or_else(|| bad(".index", "must be an integer from 0 to 9"))?;
            let value = wire
                .value
                .and_then(|v| v.as_str().map(str::to_string))
                .filter(|v| !v.is_empty() && v.chars().count() <= MAX_BUTTON_VALUE)
                .ok_or_else(|| bad(".value", "must be a non-empty string"))?;
            let (sub_type, parameter) = match wire.sub_type.as_ref().and_then(Value::as_str) {
                Some("url") => (
                    ButtonKind::Url,
                    Parameter::Text {
                        parameter_name: None,
                        text: value,
                    },
                ),
                Some("quick_reply") => (
                    ButtonKind::QuickReply,
                    Parameter::Payload { payload: value },
                ),
                Some("copy_code") if value.chars().count() <= MAX_COUPON_CODE => (
                    ButtonKind::CopyCode,
                    Parameter::CouponCode { coupon_code: value },
                ),
                Some("copy_code") => {
                    return Err(bad(".value", "must be at most 15 characters for copy_code"))
                }
                _ => {
                    return Err(bad(
                        ".sub_type",
                        "must be one of \"url\", \"quick_reply\", \"copy_code\"",
                    ))
                }
            };
            Ok(Component::Button {
                sub_type,
                index: index.to_string(),
                parameters: vec![parameter],
            })
        })
        .collect()
}
