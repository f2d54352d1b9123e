//! A secret's text read into one provider's entry (docs/configuration.md, "The secret"):
//! from the combined secret its object; from a per-provider secret its object, the combined
//! shape, or the bare key; and the fingerprint key.

use super::secret::{FingerprintKey, Secret, SecretText};
use crate::error::{ApiError, Code};
use serde_json::Value;

/// The combined secret's entry of the function's own keys.
const OWN_ENTRY: &str = "wa-dispatch";

/// The fingerprint key: the whole text of its own secret, or the combined secret's
/// `"wa-dispatch": {"fingerprint_key"}`.
pub(super) fn fingerprint_key(
    combined: bool,
    text: &SecretText,
) -> Result<FingerprintKey, ApiError> {
    if !combined {
        return FingerprintKey::new(&text.0);
    }
    let json: Option<Value> = serde_json::from_str(text.0.trim()).ok();
    let key = json
        .as_ref()
        .and_then(|all| all.get(OWN_ENTRY))
        .and_then(|own| own.get("fingerprint_key"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::new(
                Code::ConfigurationError,
                "the provider secret has no `wa-dispatch.fingerprint_key` (nor is FINGERPRINT_SECRET_ID set)",
            )
        })?;
    FingerprintKey::new(key)
}

/// One provider's webhook fields out of the webhook secret's text (`WEBHOOK_SECRET_ID`: the
/// combined shape, holding only webhook fields): its entry, without any key it may hold.
pub(super) fn webhook_entry(
    provider: &str,
    key_field: &str,
    text: &SecretText,
) -> Result<Secret, ApiError> {
    let json: Option<Value> = serde_json::from_str(text.0.trim()).ok();
    let mut entry = json
        .as_ref()
        .and_then(|all| all.get(provider))
        .filter(|entry| entry.is_object())
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                Code::ConfigurationError,
                format!("the webhook secret has no `{provider}` object"),
            )
        })?;
    if let Value::Object(map) = &mut entry {
        map.remove(key_field);
    }
    Ok(Secret::new(provider, "", entry))
}

/// Reads one provider's entry out of a secret's text (docs/configuration.md, "The secret"): from the
/// combined secret its object; from a per-provider secret its object, the combined shape,
/// or the bare key.
pub(super) fn parse(
    provider: &str,
    key_field: &str,
    combined: bool,
    text: &SecretText,
) -> Result<Secret, ApiError> {
    let config = |message: String| ApiError::new(Code::ConfigurationError, message);
    let trimmed = text.0.trim();
    let json: Option<Value> = serde_json::from_str(trimmed).ok();
    let entry = match (combined, &json) {
        (true, None) => return Err(config("the provider secret is not valid JSON".into())),
        (true, Some(all)) => all
            .get(provider)
            .ok_or_else(|| config(format!("the provider secret has no `{provider}` entry")))?,
        // A per-provider secret may also hold the combined shape.
        (false, Some(all @ Value::Object(map))) => {
            map.get(provider).filter(|v| v.is_object()).unwrap_or(all)
        }
        (false, _) if trimmed.starts_with('{') => {
            return Err(config(format!("the {provider} secret is not valid JSON")))
        }
        (false, _) if trimmed.is_empty() || trimmed.contains(char::is_whitespace) => {
            return Err(config(format!(
                "the {provider} secret is neither a JSON object nor a bare key"
            )))
        }
        (false, _) => return Ok(Secret::new(provider, trimmed, Value::Null)),
    };
    let key = entry
        .get(key_field)
        .and_then(Value::as_str)
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| {
            config(format!(
                "the secret's `{provider}.{key_field}` is missing or empty"
            ))
        })?;
    let mut rest = entry.clone();
    if let Value::Object(map) = &mut rest {
        map.remove(key_field);
    }
    Ok(Secret::new(provider, key.trim(), rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use serde_json::json;

    fn text(s: &str) -> SecretText {
        SecretText(s.into())
    }

    fn key(secret: &Secret) -> &str {
        secret.key().expose()
    }

    #[test]
    fn the_combined_secret_gives_each_provider_its_own_entry() {
        let t = text(r#"{"one":{"api_key":"b-key"},"two":{"api_key":"a-key","sender_id":12}}"#);
        assert_eq!(key(&parse("one", "api_key", true, &t).unwrap()), "b-key");
        let two = parse("two", "api_key", true, &t).unwrap();
        assert_eq!(
            (key(&two), two.number("sender_id").unwrap()),
            ("a-key", Some(12))
        );
    }

    #[test]
    fn a_missing_provider_fails_that_provider_only() {
        let t = text(r#"{"two":{"api_key":"a-key"}}"#);
        let err = parse("one", "api_key", true, &t).unwrap_err();
        assert_eq!(err.code, Code::ConfigurationError);
        assert!(err.message.contains("no `one` entry"));
        assert!(parse("two", "api_key", true, &t).is_ok());
    }

    #[test]
    fn a_per_provider_secret_is_its_object_or_the_bare_key() {
        assert_eq!(
            key(&parse("one", "api_key", false, &text(" bare-key\n")).unwrap()),
            "bare-key"
        );
        let obj = parse(
            "two",
            "api_key",
            false,
            &text(r#"{"api_key":"k","sender_id":3}"#),
        )
        .unwrap();
        assert_eq!(
            (key(&obj), obj.number("sender_id").unwrap()),
            ("k", Some(3))
        );
        let nested = parse(
            "two",
            "api_key",
            false,
            &text(r#"{"two":{"api_key":"k2"}}"#),
        )
        .unwrap();
        assert_eq!(key(&nested), "k2");
        assert!(parse("two", "api_key", false, &text("{broken")).is_err());
        let token = parse(
            "three",
            "access_token",
            false,
            &text(r#"{"access_token":"t"}"#),
        )
        .unwrap();
        assert_eq!(key(&token), "t");
    }

    #[test]
    fn fields_are_typed_when_read_and_errors_never_show_the_key() {
        let t =
            text(r#"{"one":{"api_key":"sk-very-secret","sender_id":"x","phone_number_id":"  "}}"#);
        let secret = parse("one", "api_key", true, &t).unwrap();
        let err = secret.number("sender_id").unwrap_err();
        assert_eq!(err.code, Code::ConfigurationError);
        assert!(err
            .message
            .contains("`one.sender_id` must be a positive integer"));
        assert!(secret.text("phone_number_id").is_err());
        assert_eq!(secret.text("language").unwrap(), None);
        assert!(!format!("{secret:?} {} {t:?}", secret.key()).contains("sk-very-secret"));
        assert!(
            !format!("{:?}", Secret::new("one", "sk-very-secret", json!({}))).contains("sk-very")
        );
    }

    #[test]
    fn the_fingerprint_key_is_its_own_secret_or_the_combined_entry_and_long_enough() {
        let long = "k".repeat(40);
        assert!(fingerprint_key(false, &text(&format!(" {long}\n"))).is_ok());
        let combined = text(&format!(
            r#"{{"wa-dispatch": {{"fingerprint_key": "{long}"}}}}"#
        ));
        assert!(fingerprint_key(true, &combined).is_ok());
        let short = fingerprint_key(false, &text("short")).unwrap_err();
        assert_eq!(short.code, Code::ConfigurationError);
        assert!(!short.message.contains("short"));
        let missing = fingerprint_key(true, &text(r#"{"meta": {}}"#)).unwrap_err();
        assert!(missing.message.contains("wa-dispatch.fingerprint_key"));
        assert!(!format!("{:?}", FingerprintKey::new(&long).unwrap()).contains("kkkk"));
    }
}
