//! The send request of contract section 2, parsed strictly from JSON into types that are
//! valid once they exist. Every error names its field; none needs a secret or a provider.

use crate::error::{ApiError, Code};
use crate::phone::{Country, Phone};
use crate::providers::ProviderKind;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The send request's top-level fields (contract section 2).
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
    "bitbybit",
    "autocalls",
];
const MAX_VARIABLES: usize = 100;
const MAX_VARIABLE_CHARS: usize = 1024;

/// A send request that passed every check of the contract.
#[derive(Clone, Debug)]
pub struct SendRequest {
    pub provider: ProviderKind,
    pub to: Phone,
    pub country: Option<Country>,
    pub template: Template,
    pub variables: Variables,
    pub recipient_name: Option<String>,
    pub media_url: Option<String>,
    pub client_reference: Option<String>,
    pub idempotency_key: Option<String>,
    pub dry_run: bool,
    pub bitbybit: BitbybitOptions,
    pub autocalls: AutocallsOptions,
}

/// bitbybit names its templates; autocalls numbers them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Template {
    Name(String),
    Id(u64),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BitbybitOptions {
    pub template_source: Option<String>,
    pub sources: Option<String>,
    pub ignore_active_ticket: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutocallsOptions {
    pub sender_id: Option<u64>,
}

/// Template placeholders as (name, value) pairs; an array's names are `"1"`..`"n"`.
/// Values may be personal data: `Debug` shows names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Variables {
    entries: Vec<(String, String)>,
}

impl Variables {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The values in placeholder order (bitbybit `params`); parsing made sure the names
    /// are exactly `"1"`..`"n"` when the provider needs this.
    pub fn values(&self) -> Vec<&str> {
        self.entries.iter().map(|(_, v)| v.as_str()).collect()
    }
}

impl fmt::Debug for Variables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "Variables({names:?}, values redacted)")
    }
}

impl SendRequest {
    /// Parses a send request. `header_key` is the HTTP `Idempotency-Key` header, used when
    /// the body carries none; `default_provider` is `DEFAULT_PROVIDER`. Number variables
    /// are read as serde_json prints them; `parse_document` keeps them as written.
    pub fn parse(
        value: &Value,
        default_provider: Option<ProviderKind>,
        header_key: Option<&str>,
    ) -> Result<SendRequest, ApiError> {
        SendRequest::parse_with(value, None, default_provider, header_key)
    }

    /// Parses the send request `value` whose JSON text is `text`: number variables are
    /// taken from the text exactly as written (`1.50`, `1e2`, 21 digits; contract section 3).
    pub fn parse_document(
        value: &Value,
        text: &str,
        default_provider: Option<ProviderKind>,
        header_key: Option<&str>,
    ) -> Result<SendRequest, ApiError> {
        // The same document read again, keeping each top-level field's text; duplicate keys
        // resolve as in `value` (the last one wins).
        let fields: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(|_| {
            ApiError::new(
                Code::InvalidRequest,
                "the send request must be a JSON object",
            )
        })?;
        let exact = fields
            .get("variables")
            .map(|raw| ExactVariables::read(raw))
            .transpose()?;
        SendRequest::parse_with(value, exact.as_ref(), default_provider, header_key)
    }

    fn parse_with(
        value: &Value,
        exact: Option<&ExactVariables>,
        default_provider: Option<ProviderKind>,
        header_key: Option<&str>,
    ) -> Result<SendRequest, ApiError> {
        let body = value.as_object().ok_or_else(|| {
            ApiError::new(
                Code::InvalidRequest,
                "the send request must be a JSON object",
            )
        })?;
        if let Some(unknown) = body.keys().find(|k| !TOP_FIELDS.contains(&k.as_str())) {
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
        for kind in ProviderKind::ALL {
            if kind != provider && body.contains_key(kind.as_str()) {
                return Err(ApiError::invalid(
                    kind.as_str(),
                    format!(
                        "`{}` options were given but the provider is {}",
                        kind.as_str(),
                        provider.as_str()
                    ),
                ));
            }
        }
        let bitbybit = parse_bitbybit(body.get("bitbybit"))?;
        let autocalls = parse_autocalls(body.get("autocalls"))?;
        let country = optional_str(body, "country", 2)?
            .map(|c| {
                Country::parse(c)
                    .map_err(|why| ApiError::invalid("country", format!("`country` {why}")))
            })
            .transpose()?;
        let to_text = required_str(body, "to")?;
        let to = Phone::parse(to_text, country).map_err(|why| {
            ApiError::new(Code::InvalidPhone, format!("`to` {why}")).with_field("to")
        })?;
        let template = parse_template(body.get("template"), provider)?;
        let variables = parse_variables(body.get("variables"), exact, provider)?;
        let recipient_name = optional_str(body, "recipient_name", 255)?.map(str::to_string);
        let media_url = optional_str(body, "media_url", 2048)?
            .map(|url| parse_media_url(url, provider))
            .transpose()?;
        let client_reference = optional_str(body, "client_reference", 256)?.map(str::to_string);
        let idempotency_key = match optional_str(body, "idempotency_key", 128)? {
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
        Ok(SendRequest {
            provider,
            to,
            country,
            template,
            variables,
            recipient_name,
            media_url,
            client_reference,
            idempotency_key,
            dry_run,
            bitbybit,
            autocalls,
        })
    }
}

impl SendRequest {
    /// The request's values a provider's answer must never echo back (variable values,
    /// the recipient's name, the media URL).
    pub fn personal_values(&self) -> impl Iterator<Item = &str> {
        self.variables
            .entries
            .iter()
            .map(|(_, v)| v.as_str())
            .chain(self.recipient_name.as_deref())
            .chain(self.media_url.as_deref())
    }
}

fn parse_provider(
    body: &Map<String, Value>,
    default: Option<ProviderKind>,
) -> Result<ProviderKind, ApiError> {
    let unknown =
        |message: String| ApiError::new(Code::UnknownProvider, message).with_field("provider");
    match body.get("provider") {
        None | Some(Value::Null) => default
            .ok_or_else(|| unknown("`provider` is required: no DEFAULT_PROVIDER is set".into())),
        Some(Value::String(name)) => ProviderKind::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
            unknown(format!("`provider` must be one of {}", known.join(", ")))
        }),
        Some(_) => Err(unknown("`provider` must be a string".into())),
    }
}

fn parse_template(value: Option<&Value>, provider: ProviderKind) -> Result<Template, ApiError> {
    let bad = |why: &str| ApiError::invalid("template", format!("`template` {why}"));
    match (provider, value) {
        (_, None | Some(Value::Null)) => Err(bad("is required")),
        (ProviderKind::Bitbybit, Some(Value::String(name))) => {
            let len = name.chars().count();
            if name.trim().is_empty() {
                Err(bad("must be a non-empty template name for bitbybit"))
            } else if len > 512 {
                Err(bad("must be at most 512 characters"))
            } else {
                Ok(Template::Name(name.clone()))
            }
        }
        (ProviderKind::Bitbybit, Some(_)) => {
            Err(bad("must be the template's name (a string) for bitbybit"))
        }
        (ProviderKind::Autocalls, Some(Value::Number(n))) => n
            .as_u64()
            .filter(|id| *id > 0)
            .map(Template::Id)
            .ok_or_else(|| bad("must be a positive integer template id for autocalls")),
        (ProviderKind::Autocalls, Some(Value::String(s))) => s
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0 && s.bytes().all(|b| b.is_ascii_digit()))
            .map(Template::Id)
            .ok_or_else(|| {
                bad("must be a positive integer template id (or a string of digits) for autocalls")
            }),
        (ProviderKind::Autocalls, Some(_)) => {
            Err(bad("must be a positive integer template id for autocalls"))
        }
    }
}

/// The text of each variable as the request wrote it, by position or by name.
enum ExactVariables {
    List(Vec<Box<RawValue>>),
    Named(BTreeMap<String, Box<RawValue>>),
    Neither,
}

impl ExactVariables {
    fn read(raw: &RawValue) -> Result<Self, ApiError> {
        let unreadable =
            || ApiError::invalid("variables", "`variables` must be an array or an object");
        Ok(match raw.get().trim_start().as_bytes().first() {
            Some(b'[') => {
                ExactVariables::List(serde_json::from_str(raw.get()).map_err(|_| unreadable())?)
            }
            Some(b'{') => {
                ExactVariables::Named(serde_json::from_str(raw.get()).map_err(|_| unreadable())?)
            }
            _ => ExactVariables::Neither,
        })
    }

    fn text<'a>(exact: Option<&'a Self>, index: usize, name: &str) -> Option<&'a str> {
        let raw = match exact? {
            ExactVariables::List(items) => items.get(index)?,
            ExactVariables::Named(map) => map.get(name)?,
            ExactVariables::Neither => return None,
        };
        Some(raw.get().trim())
    }
}

fn parse_variables(
    value: Option<&Value>,
    exact: Option<&ExactVariables>,
    provider: ProviderKind,
) -> Result<Variables, ApiError> {
    let entries: Vec<(String, String)> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            check_count(items.len())?;
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let written = ExactVariables::text(exact, i, "");
                    Ok((
                        (i + 1).to_string(),
                        variable_value(v, written, &format!("variables[{i}]"))?,
                    ))
                })
                .collect::<Result<_, ApiError>>()?
        }
        Some(Value::Object(map)) => {
            check_count(map.len())?;
            let mut entries = map
                .iter()
                .map(|(k, v)| {
                    let field = format!("variables.{k}");
                    if k.is_empty() || k.chars().count() > 128 {
                        return Err(ApiError::invalid(
                            field,
                            "a variable name must have 1 to 128 characters",
                        ));
                    }
                    let written = ExactVariables::text(exact, usize::MAX, k);
                    Ok((k.clone(), variable_value(v, written, &field)?))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            if provider == ProviderKind::Bitbybit {
                order_positional(&mut entries)?;
            }
            entries
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "variables",
                "`variables` must be an array or an object",
            ))
        }
    };
    Ok(Variables { entries })
}

/// bitbybit's `params` is positional: an object's keys must be exactly "1".."n".
fn order_positional(entries: &mut [(String, String)]) -> Result<(), ApiError> {
    let n = entries.len();
    for (k, _) in entries.iter() {
        let ok = k
            .parse::<usize>()
            .is_ok_and(|i| (1..=n).contains(&i) && i.to_string() == *k);
        if !ok {
            return Err(ApiError::invalid(
                format!("variables.{k}"),
                format!(
                    "bitbybit variables are positional: object keys must be exactly \"1\"..\"{n}\""
                ),
            ));
        }
    }
    entries.sort_by_key(|(k, _)| k.parse::<usize>().unwrap_or(usize::MAX));
    Ok(())
}

fn check_count(len: usize) -> Result<(), ApiError> {
    if len > MAX_VARIABLES {
        return Err(ApiError::invalid(
            "variables",
            format!("at most {MAX_VARIABLES} variables are allowed"),
        ));
    }
    Ok(())
}

/// A variable's value as text. A number is sent as `written` in the request when its text
/// is known, not as serde_json would print it again.
fn variable_value(value: &Value, written: Option<&str>, field: &str) -> Result<String, ApiError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => written.map_or_else(|| n.to_string(), str::to_string),
        _ => {
            return Err(ApiError::invalid(
                field,
                format!("`{field}` must be a string or a number"),
            ))
        }
    };
    if text.chars().count() > MAX_VARIABLE_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("`{field}` must be at most {MAX_VARIABLE_CHARS} characters"),
        ));
    }
    Ok(text)
}

fn parse_media_url(url: &str, provider: ProviderKind) -> Result<String, ApiError> {
    if provider != ProviderKind::Bitbybit {
        return Err(ApiError::invalid(
            "media_url",
            format!("`media_url` is not supported by {}", provider.as_str()),
        ));
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host_str().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(ApiError::invalid(
            "media_url",
            "`media_url` must be an absolute https URL",
        )),
    }
}

fn parse_bitbybit(value: Option<&Value>) -> Result<BitbybitOptions, ApiError> {
    let Some(block) = block(
        value,
        "bitbybit",
        &["template_source", "sources", "ignore_active_ticket"],
    )?
    else {
        return Ok(BitbybitOptions::default());
    };
    let one_of = |name: &str, allowed: &[&str]| -> Result<Option<String>, ApiError> {
        let field = format!("bitbybit.{name}");
        match block.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid(
                &field,
                format!("`{field}` must be one of {allowed:?}"),
            )),
        }
    };
    let ignore_active_ticket = match block.get("ignore_active_ticket") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(ApiError::invalid(
                "bitbybit.ignore_active_ticket",
                "`bitbybit.ignore_active_ticket` must be a boolean",
            ))
        }
    };
    Ok(BitbybitOptions {
        template_source: one_of("template_source", &["CRM", "AUTH"])?,
        sources: one_of("sources", &["whatsapp cloud api", "whatsapp coex"])?,
        ignore_active_ticket,
    })
}

fn parse_autocalls(value: Option<&Value>) -> Result<AutocallsOptions, ApiError> {
    let Some(block) = block(value, "autocalls", &["sender_id"])? else {
        return Ok(AutocallsOptions::default());
    };
    let sender_id = match block.get("sender_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|id| *id > 0).ok_or_else(|| {
            ApiError::invalid(
                "autocalls.sender_id",
                "`autocalls.sender_id` must be a positive integer",
            )
        })?),
    };
    Ok(AutocallsOptions { sender_id })
}

/// A provider block: an object holding only the named fields.
fn block<'a>(
    value: Option<&'a Value>,
    name: &str,
    fields: &[&str],
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => {
            if let Some(unknown) = map.keys().find(|k| !fields.contains(&k.as_str())) {
                let field = format!("{name}.{unknown}");
                return Err(ApiError::invalid(
                    &field,
                    format!("unknown field `{field}`"),
                ));
            }
            Ok(Some(map))
        }
        Some(_) => Err(ApiError::invalid(
            name,
            format!("`{name}` must be an object"),
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
    (1..=128).contains(&text.len()) && text.bytes().all(|b| (0x20..0x7f).contains(&b))
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
