//! A Meta send as the request gives it: the `meta` block (a language, a sending number, a
//! header and buttons, each read into its type), the body's parameters from the variables,
//! and the message built into the Graph API's body (`wire`) with the secret's defaults.

use super::components::{buttons, header};
use super::wire::{Component, GraphBody, Language, Parameter, Template};
use crate::domain::json::read_raw;
use crate::domain::template::TemplateName;
use crate::error::{ApiError, Code};
use crate::infra::secrets::Secret;
use crate::providers::provider::{endpoint, Input, Message, ProviderRequest, Settings};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Its name in requests, the secret and the environment.
pub(super) const NAME: &str = "meta";
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

/// A Meta template send: the Graph API body, but for the language and the sending number,
/// which may come from the secret.
#[derive(Serialize)]
pub(super) struct MetaMessage {
    phone_number_id: Option<String>,
    language: Option<String>,
    to: String,
    template: TemplateName,
    components: Vec<Component>,
    client_reference: Option<String>,
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
            client_reference: input.client_reference.map(str::to_string),
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
            biz_opaque_callback_data: self.client_reference.as_deref(),
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
