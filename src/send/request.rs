//! The send request (docs/api.md, "The send request"), parsed strictly from JSON: the fields every
//! provider shares here, the provider's own part by the provider (`Provider::parse`), into
//! types that are valid once they exist. Every error names its field; none needs a secret.

use crate::domain::phone::{Country, Phone};
use crate::domain::variables::Variables;
use crate::error::{ApiError, Code};
use crate::infra::secrets::FingerprintKey;
use crate::providers::{self, Input, Message, Provider, REGISTRY};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The send request's own top-level fields (docs/api.md); each provider's block,
/// named after it, may sit beside them.
pub const TOP_FIELDS: &[&str] = &[
    "provider",
    "to",
    "country",
    "template",
    "variables",
    "recipient_name",
    "media_url",
    "client_reference",
    "idempotency_key",
    "dry_run",
];
pub const MAX_RECIPIENT_NAME: usize = 255;
pub const MAX_MEDIA_URL: usize = 2048;
pub const MAX_CLIENT_REFERENCE: usize = 256;
pub const MAX_KEY: usize = 128;
/// The largest send request from any source (an HTTP body, an SQS body, a direct or
/// EventBridge event's request).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A send request that passed every check of ours and of its provider.
pub struct SendRequest {
    provider: &'static dyn Provider,
    to: Phone,
    variables: Variables,
    recipient_name: Option<String>,
    media_url: Option<String>,
    client_reference: Option<String>,
    idempotency_key: Option<String>,
    dry_run: bool,
    message: Box<dyn Message>,
}

impl fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SendRequest({}, {:?}, {:?})",
            self.provider.name(),
            self.to,
            self.variables
        )
    }
}

impl SendRequest {
    /// Parses a send request given as its JSON text: number variables are taken exactly as
    /// written (`1.50`, `1e2`, 21 digits; docs/api.md, "Variables"). `default_key` is the key
    /// when the body carries none (the `Idempotency-Key` header, an SQS `messageId`, an event
    /// id); `default_provider` is `DEFAULT_PROVIDER`.
    pub fn parse(
        text: &str,
        default_provider: Option<&'static dyn Provider>,
        default_key: Option<&str>,
    ) -> Result<SendRequest, ApiError> {
        if text.len() > MAX_REQUEST_BYTES {
            return Err(ApiError::new(
                Code::PayloadTooLarge,
                format!(
                    "the send request is larger than {} KiB",
                    MAX_REQUEST_BYTES / 1024
                ),
            ));
        }
        let value: Value = serde_json::from_str(text).map_err(|e| {
            ApiError::new(
                Code::InvalidRequest,
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        // The same document read again, keeping each top-level field's text; duplicate keys
        // resolve as in `value` (the last one wins).
        let fields: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(|_| {
            ApiError::new(
                Code::InvalidRequest,
                "the send request must be a JSON object",
            )
        })?;
        let exact = fields.get("variables").copied();
        SendRequest::parse_with(&value, exact, default_provider, default_key)
    }

    fn parse_with(
        value: &Value,
        exact_variables: Option<&RawValue>,
        default_provider: Option<&'static dyn Provider>,
        header_key: Option<&str>,
    ) -> Result<SendRequest, ApiError> {
        let body = value.as_object().ok_or_else(|| {
            ApiError::new(
                Code::InvalidRequest,
                "the send request must be a JSON object",
            )
        })?;
        let is_block = |k: &str| REGISTRY.iter().any(|p| p.name() == k);
        if let Some(unknown) = body
            .keys()
            .find(|k| !TOP_FIELDS.contains(&k.as_str()) && !is_block(k))
        {
            let unknown = crate::error::field_name(unknown);
            return Err(ApiError::invalid(
                unknown.clone(),
                format!("unknown field `{unknown}`"),
            ));
        }
        if body.is_empty() {
            return Err(ApiError::invalid(
                "to",
                "the send request is empty: `to` and `template` are required, and `provider` unless DEFAULT_PROVIDER is set",
            ));
        }
        let provider = parse_provider(body, default_provider)?;
        if let Some(other) = REGISTRY
            .iter()
            .find(|p| p.name() != provider.name() && body.contains_key(p.name()))
        {
            return Err(ApiError::invalid(
                other.name(),
                format!(
                    "`{}` options were given but the provider is {}",
                    other.name(),
                    provider.name()
                ),
            ));
        }
        let block = match body.get(provider.name()) {
            None | Some(Value::Null) => None,
            Some(Value::Object(block)) => Some(block),
            Some(_) => {
                return Err(ApiError::invalid(
                    provider.name(),
                    format!("`{}` must be an object", provider.name()),
                ))
            }
        };
        let country = optional_str(body, "country", 2)?
            .map(|c| {
                Country::parse(c)
                    .map_err(|why| ApiError::invalid("country", format!("`country` {why}")))
            })
            .transpose()?;
        let to = Phone::parse(required_str(body, "to")?, country).map_err(|why| {
            ApiError::new(Code::InvalidPhone, format!("`to` {why}")).with_field("to")
        })?;
        let variables = Variables::parse(body.get("variables"), exact_variables)?;
        let recipient_name = optional_str(body, "recipient_name", MAX_RECIPIENT_NAME)?;
        let media_url = optional_str(body, "media_url", MAX_MEDIA_URL)?
            .map(parse_media_url)
            .transpose()?;
        let client_reference = optional_str(body, "client_reference", MAX_CLIENT_REFERENCE)?;
        let idempotency_key = match optional_str(body, "idempotency_key", MAX_KEY)? {
            Some(key) => Some(printable_key(key, "idempotency_key")?),
            None => header_key
                .map(|key| printable_key(key, "Idempotency-Key"))
                .transpose()?,
        };
        let dry_run = match body.get("dry_run") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::invalid("dry_run", "`dry_run` must be a boolean")),
        };
        let message = provider.parse(&Input {
            to: &to,
            country,
            template: body.get("template"),
            variables: &variables,
            recipient_name,
            media_url,
            block,
        })?;
        Ok(SendRequest {
            provider,
            to,
            variables,
            recipient_name: recipient_name.map(str::to_string),
            media_url: media_url.map(str::to_string),
            client_reference: client_reference.map(str::to_string),
            idempotency_key,
            dry_run,
            message,
        })
    }

    pub fn provider(&self) -> &'static dyn Provider {
        self.provider
    }

    pub fn to(&self) -> &Phone {
        &self.to
    }

    pub fn client_reference(&self) -> Option<&str> {
        self.client_reference.as_deref()
    }

    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    pub fn message(&self) -> &dyn Message {
        self.message.as_ref()
    }

    /// The request's values a provider's answer must never echo back (variable values,
    /// the recipient's name, the media URL, and the provider's own).
    pub fn personal_values(&self) -> impl Iterator<Item = &str> {
        self.variables
            .values()
            .chain(self.recipient_name.as_deref())
            .chain(self.media_url.as_deref())
            .chain(self.message.personal_values())
    }

    /// HMAC-SHA256, under the function's own key, of what is sent (docs/guarantees.md,
    /// "Idempotency"): the provider and its message, as the provider's own types serialize
    /// it (so that no field is left out), with `to` normalized; what changes nothing that is
    /// sent (`client_reference`, `dry_run`, the key itself) is left out. Keyed, so that
    /// nobody who can read the table can recover a one-time code by hashing guesses.
    pub fn fingerprint(&self, key: &FingerprintKey) -> String {
        let sent = serde_json::json!([self.provider.name(), self.message.fingerprint()]);
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.expose());
        let tag = aws_lc_rs::hmac::sign(&key, sent.to_string().as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn parse_provider(
    body: &Map<String, Value>,
    default: Option<&'static dyn Provider>,
) -> Result<&'static dyn Provider, ApiError> {
    let unknown =
        |message: String| ApiError::new(Code::UnknownProvider, message).with_field("provider");
    match body.get("provider") {
        None | Some(Value::Null) => default
            .ok_or_else(|| unknown("`provider` is required: no DEFAULT_PROVIDER is set".into())),
        Some(Value::String(name)) => providers::find(name).ok_or_else(|| {
            let known: Vec<&str> = REGISTRY.iter().map(|p| p.name()).collect();
            unknown(format!("`provider` must be one of {}", known.join(", ")))
        }),
        Some(_) => Err(unknown("`provider` must be a string".into())),
    }
}

fn parse_media_url(url: &str) -> Result<&str, ApiError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host_str().is_some() => Ok(url),
        _ => Err(ApiError::invalid(
            "media_url",
            "`media_url` must be an absolute https URL",
        )),
    }
}

fn required_str<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::invalid(name, format!("`{name}` is required"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::invalid(
            name,
            format!("`{name}` must be a string"),
        )),
    }
}

fn optional_str<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    max_chars: usize,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
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

/// Idempotency keys and request ids: 1 to 128 printable ASCII characters.
pub fn is_printable_token(text: &str) -> bool {
    (1..=MAX_KEY).contains(&text.len()) && text.bytes().all(|b| (0x20..0x7f).contains(&b))
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

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
