//! The send request's own fields (docs/api.md, "The send request"), read from its JSON
//! text into a serde type that refuses any field it does not name; the blocks named after a
//! provider are set aside for that provider. Every error names its field; none needs a
//! secret. Which provider a name means is the send pipeline's (`send::request`).

use super::json;
use super::phone::{Country, Phone};
use super::variables::Variables;
use crate::error::{ApiError, Code};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

pub const MAX_RECIPIENT_NAME: usize = 255;
pub const MAX_MEDIA_URL: usize = 2048;
pub const MAX_CLIENT_REFERENCE: usize = 256;
pub const MAX_KEY: usize = 128;
/// The largest send request from any source (an HTTP body, an SQS body, a direct or
/// EventBridge event's request).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The request's own fields as written (each checked when read into its type, in the order
/// `Written::common` gives).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    provider: Option<Box<RawValue>>,
    to: Option<Box<RawValue>>,
    country: Option<Box<RawValue>>,
    template: Option<Box<RawValue>>,
    variables: Option<Box<RawValue>>,
    recipient_name: Option<Box<RawValue>>,
    media_url: Option<Box<RawValue>>,
    client_reference: Option<Box<RawValue>>,
    idempotency_key: Option<Box<RawValue>>,
    dry_run: Option<Box<RawValue>>,
}

/// A send request as written: its own fields, and the blocks named after a provider.
pub struct Written {
    fields: Fields,
    /// Each provider block by name, as written.
    pub blocks: BTreeMap<String, Box<RawValue>>,
}

/// The request's own fields, each valid.
pub struct Common {
    pub to: Phone,
    pub country: Option<Country>,
    pub variables: Variables,
    pub recipient_name: Option<String>,
    pub media_url: Option<String>,
    pub client_reference: Option<String>,
    pub idempotency_key: Option<String>,
    pub dry_run: bool,
}

impl Written {
    /// Reads `text`; `is_block` says which top-level names are a provider's block.
    pub fn read(text: &str, is_block: impl Fn(&str) -> bool) -> Result<Written, ApiError> {
        if text.len() > MAX_REQUEST_BYTES {
            return Err(ApiError::new(
                Code::PayloadTooLarge,
                format!(
                    "the send request is larger than {} KiB",
                    MAX_REQUEST_BYTES / 1024
                ),
            ));
        }
        // Each top-level field as written; a repeated name keeps its last value.
        let top: BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(text).map_err(|e| match e.classify() {
                serde_json::error::Category::Data => ApiError::new(
                    Code::InvalidRequest,
                    "the send request must be a JSON object",
                ),
                _ => ApiError::new(
                    Code::InvalidRequest,
                    format!("the body is not valid JSON: {e}"),
                ),
            })?;
        if top.is_empty() {
            return Err(ApiError::invalid(
                "to",
                "the send request is empty: `to` and `template` are required, and `provider` unless DEFAULT_PROVIDER is set",
            ));
        }
        let (blocks, own): (BTreeMap<_, _>, BTreeMap<_, _>) =
            top.into_iter().partition(|(k, _)| is_block(k));
        let own = serde_json::to_string(&own).map_err(|_| ApiError::internal())?;
        Ok(Written {
            fields: json::read(&own, "")?,
            blocks,
        })
    }

    /// `provider` as written: `None` when absent; not a string is refused.
    pub fn provider(&self) -> Result<Option<String>, ApiError> {
        match value(&self.fields.provider) {
            None => Ok(None),
            Some(Value::String(name)) => Ok(Some(name)),
            Some(_) => Err(
                ApiError::new(Code::UnknownProvider, "`provider` must be a string")
                    .with_field("provider"),
            ),
        }
    }

    /// `template` as written: what a template is, is the provider's.
    pub fn template(&self) -> Option<Value> {
        value(&self.fields.template)
    }

    /// The other fields, each read into its type. `default_key` is the key when the request
    /// gives none (its error names `Idempotency-Key`).
    pub fn common(&self, default_key: Option<&str>) -> Result<Common, ApiError> {
        let f = &self.fields;
        let country = optional_str(&f.country, "country", 2)?
            .map(|c| {
                Country::parse(&c)
                    .map_err(|why| ApiError::invalid("country", format!("`country` {why}")))
            })
            .transpose()?;
        let to = match value(&f.to) {
            None => return Err(ApiError::invalid("to", "`to` is required")),
            Some(Value::String(to)) => Phone::parse(&to, country).map_err(|why| {
                ApiError::new(Code::InvalidPhone, format!("`to` {why}")).with_field("to")
            })?,
            Some(_) => return Err(ApiError::invalid("to", "`to` must be a string")),
        };
        let variables = Variables::parse(value(&f.variables).as_ref(), f.variables.as_deref())?;
        let recipient_name = optional_str(&f.recipient_name, "recipient_name", MAX_RECIPIENT_NAME)?;
        let media_url = optional_str(&f.media_url, "media_url", MAX_MEDIA_URL)?
            .map(media_url)
            .transpose()?;
        let client_reference = optional_str(
            &f.client_reference,
            "client_reference",
            MAX_CLIENT_REFERENCE,
        )?;
        let idempotency_key = match optional_str(&f.idempotency_key, "idempotency_key", MAX_KEY)? {
            Some(key) => Some(printable_key(&key, "idempotency_key")?),
            None => default_key.map(default).transpose()?,
        };
        let dry_run = match value(&f.dry_run) {
            None => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(ApiError::invalid("dry_run", "`dry_run` must be a boolean")),
        };
        Ok(Common {
            to,
            country,
            variables,
            recipient_name,
            media_url,
            client_reference,
            idempotency_key,
            dry_run,
        })
    }
}

fn value(raw: &Option<Box<RawValue>>) -> Option<Value> {
    raw.as_deref()
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        .filter(|v| !v.is_null())
}

fn optional_str(
    raw: &Option<Box<RawValue>>,
    name: &str,
    max_chars: usize,
) -> Result<Option<String>, ApiError> {
    match value(raw) {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max_chars => Err(ApiError::invalid(
            name,
            format!("`{name}` must be at most {max_chars} characters"),
        )),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(
            name,
            format!("`{name}` must be a string"),
        )),
    }
}

fn media_url(url: String) -> Result<String, ApiError> {
    match reqwest::Url::parse(&url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host_str().is_some() => Ok(url),
        _ => Err(ApiError::invalid(
            "media_url",
            "`media_url` must be an absolute https URL",
        )),
    }
}

/// Idempotency keys and request ids: 1 to 128 printable ASCII characters.
pub fn is_printable_token(text: &str) -> bool {
    (1..=MAX_KEY).contains(&text.len()) && text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The key a request without one takes from its source: a batch's header key carries its
/// entry's index (`#99`) past the header's 128 characters.
fn default(key: &str) -> Result<String, ApiError> {
    let printable = key.bytes().all(|b| (0x20..0x7f).contains(&b));
    match (1..=MAX_KEY + 4).contains(&key.len()) && printable {
        true => Ok(key.to_string()),
        false => printable_key(key, "Idempotency-Key"),
    }
}

fn printable_key(key: &str, field: &str) -> Result<String, ApiError> {
    if is_printable_token(key) {
        Ok(key.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            format!("`{field}` must be 1 to 128 printable characters"),
        ))
    }
}
