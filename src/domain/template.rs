//! A template named by its name (bitbybit's and Meta's templates): the one rule for it.

use crate::error::ApiError;
use serde_json::Value;

pub const MAX_TEMPLATE_CHARS: usize = 512;

/// A template's name: a non-empty string of at most 512 characters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct TemplateName(String);

impl TemplateName {
    /// Reads `template` for `provider`, whose templates are named.
    pub fn parse(value: Option<&Value>, provider: &str) -> Result<TemplateName, ApiError> {
        let bad = |why: &str| ApiError::invalid("template", format!("`template` {why}"));
        match value {
            None | Some(Value::Null) => Err(bad("is required")),
            Some(Value::String(name)) if name.trim().is_empty() => Err(bad(&format!(
                "must be a non-empty template name for {provider}"
            ))),
            Some(Value::String(name)) if name.chars().count() > MAX_TEMPLATE_CHARS => Err(bad(
                &format!("must be at most {MAX_TEMPLATE_CHARS} characters"),
            )),
            Some(Value::String(name)) => Ok(TemplateName(name.clone())),
            Some(_) => Err(bad(&format!(
                "must be the template's name (a string) for {provider}"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_template_name_is_a_bounded_non_empty_string() {
        assert_eq!(
            TemplateName::parse(Some(&json!("hello")), "p")
                .unwrap()
                .as_str(),
            "hello"
        );
        for (value, words) in [
            (None, "is required"),
            (Some(json!(" ")), "non-empty template name for p"),
            (Some(json!("x".repeat(513))), "at most 512"),
            (Some(json!(45)), "(a string) for p"),
        ] {
            let error = TemplateName::parse(value.as_ref(), "p").unwrap_err();
            assert!(error.message.contains(words), "{}", error.message);
            assert_eq!(error.field.as_deref(), Some("template"));
        }
    }
}
