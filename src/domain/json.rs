//! JSON read into the request's serde types, with errors that name the field as the caller
//! wrote it (`meta.buttons[0].index`): an unknown field is refused by the type itself
//! (`deny_unknown_fields`), never by a list kept beside it.

use crate::error::{field_name, ApiError};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Reads `raw` as `T`; `prefix` is where `raw` sits in the request (`meta`, or empty).
pub fn read<T: DeserializeOwned>(raw: &str, prefix: &str) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let at = join(prefix, path.trim_start_matches('.'));
        let inner = error.into_inner().to_string();
        // serde_json says where in the text: the field's name says it better.
        let inner = inner
            .rsplit_once(" at line ")
            .map_or(inner.as_str(), |(m, _)| m)
            .to_string();
        match inner.starts_with("unknown field `") {
            // The path already ends with the unknown field's name.
            true => {
                let field = field_name(&at);
                ApiError::invalid(field.clone(), format!("unknown field `{field}`"))
            }
            false => {
                let field = field_name(if at.is_empty() { prefix } else { &at });
                ApiError::invalid(field.clone(), format!("`{field}` {inner}"))
            }
        }
    })
}

/// Reads an optional raw value (a request field or block) as `T`.
pub fn read_raw<T: DeserializeOwned>(
    raw: Option<&RawValue>,
    prefix: &str,
) -> Result<Option<T>, ApiError> {
    raw.map(|raw| read(raw.get(), prefix)).transpose()
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Button {
        index: Option<u8>,
    }

    #[allow(dead_code)]
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Block {
        buttons: Option<Vec<Button>>,
    }

    #[test]
    fn errors_name_the_field_as_written() {
        let unknown = read::<Block>(r#"{"buttons": [{"index": 1}, {"indx": 2}]}"#, "meta")
            .err()
            .unwrap();
        assert_eq!(unknown.field.as_deref(), Some("meta.buttons[1].indx"));
        assert_eq!(unknown.message, "unknown field `meta.buttons[1].indx`");
        let typed = read::<Block>(r#"{"buttons": [{"index": "x"}]}"#, "meta")
            .err()
            .unwrap();
        assert_eq!(typed.field.as_deref(), Some("meta.buttons[0].index"));
        assert!(!typed.message.contains("line"), "{}", typed.message);
        let long = format!(r#"{{"{}": 1}}"#, "z".repeat(10_000));
        let cut = read::<Block>(&long, "meta").err().unwrap();
        assert!(cut.field.unwrap().chars().count() <= 64);
    }
}
