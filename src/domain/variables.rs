//! A send request's `variables` (docs/api.md, "Normalization"): placeholders by position (an array)
//! or by name (an object), each a string or a number kept exactly as written. How a
//! provider wants them (bitbybit positional only, autocalls an object) is the provider's.

use crate::error::ApiError;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

pub const MAX_VARIABLES: usize = 100;
pub const MAX_VARIABLE_CHARS: usize = 1024;
pub const MAX_NAME_CHARS: usize = 128;

/// Template placeholders as (name, value) pairs; an array's names are `"1"`..`"n"`.
/// Values may be personal data: `Debug` shows names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Variables {
    entries: Vec<(String, String)>,
    /// Given as an object (named), not as an array.
    named: bool,
}

impl Variables {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// (name, value) pairs; an object's in its keys' order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(_, v)| v.as_str())
    }

    /// The values in placeholder order, for a provider that takes them by position only: an
    /// array as it is, or an object whose keys are exactly `"1"`..`"n"` (any other key is
    /// refused, naming it).
    pub fn positional(&self, provider: &str) -> Result<Vec<&str>, ApiError> {
        if !self.named {
            return Ok(self.values().collect());
        }
        let n = self.entries.len();
        let mut ordered: Vec<(usize, &str)> = Vec::with_capacity(n);
        for (name, value) in &self.entries {
            let position = name
                .parse::<usize>()
                .ok()
                .filter(|i| (1..=n).contains(i) && i.to_string() == *name)
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!("variables.{}", crate::error::field_name(name)),
                        format!(
                            "{provider} variables are positional: object keys must be exactly \"1\"..\"{n}\""
                        ),
                    )
                })?;
            ordered.push((position, value));
        }
        ordered.sort_by_key(|(position, _)| *position);
        Ok(ordered.into_iter().map(|(_, value)| value).collect())
    }

    /// Whether they were given by name (an object) rather than by position (an array).
    pub fn is_named(&self) -> bool {
        self.named
    }

    /// Reads `variables` from a request. `exact` is the same field's JSON text, when known:
    /// a number is then taken as written (`1.50`, `1e2`, 21 digits), not as serde_json
    /// would print it again.
    pub fn parse(value: Option<&Value>, exact: Option<&RawValue>) -> Result<Variables, ApiError> {
        let exact = exact.map(Exact::read).transpose()?;
        let exact = exact.as_ref();
        match value {
            None | Some(Value::Null) => Ok(Variables::default()),
            Some(Value::Array(items)) => {
                check_count(items.len())?;
                let entries = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let written = Exact::text(exact, i, "");
                        Ok((
                            (i + 1).to_string(),
                            value_text(v, written, &format!("variables[{i}]"))?,
                        ))
                    })
                    .collect::<Result<_, ApiError>>()?;
                Ok(Variables {
                    entries,
                    named: false,
                })
            }
            Some(Value::Object(map)) => {
                check_count(map.len())?;
                let entries = map
                    .iter()
                    .map(|(k, v)| {
                        let field = format!("variables.{}", crate::error::field_name(k));
                        if k.is_empty() || k.chars().count() > MAX_NAME_CHARS {
                            return Err(ApiError::invalid(
                                field,
                                format!(
                                    "a variable name must have 1 to {MAX_NAME_CHARS} characters"
                                ),
                            ));
                        }
                        let written = Exact::text(exact, usize::MAX, k);
                        Ok((k.clone(), value_text(v, written, &field)?))
                    })
                    .collect::<Result<_, ApiError>>()?;
                Ok(Variables {
                    entries,
                    named: true,
                })
            }
            Some(_) => Err(ApiError::invalid(
                "variables",
                "`variables` must be an array or an object",
            )),
        }
    }
}

impl fmt::Debug for Variables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "Variables({names:?}, values redacted)")
    }
}

/// The text of each variable as the request wrote it, by position or by name.
enum Exact {
    List(Vec<Box<RawValue>>),
    Named(BTreeMap<String, Box<RawValue>>),
    Neither,
}

impl Exact {
    fn read(raw: &RawValue) -> Result<Self, ApiError> {
        let unreadable =
            || ApiError::invalid("variables", "`variables` must be an array or an object");
        Ok(match raw.get().trim_start().as_bytes().first() {
            Some(b'[') => Exact::List(serde_json::from_str(raw.get()).map_err(|_| unreadable())?),
            Some(b'{') => Exact::Named(serde_json::from_str(raw.get()).map_err(|_| unreadable())?),
            _ => Exact::Neither,
        })
    }

    fn text<'a>(exact: Option<&'a Self>, index: usize, name: &str) -> Option<&'a str> {
        let raw = match exact? {
            Exact::List(items) => items.get(index)?,
            Exact::Named(map) => map.get(name)?,
            Exact::Neither => return None,
        };
        Some(raw.get().trim())
    }
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

/// A variable's value as text: a string, or a number as `written` when its text is known.
fn value_text(value: &Value, written: Option<&str>, field: &str) -> Result<String, ApiError> {
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
