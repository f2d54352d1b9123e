//! The `meta` block's header and buttons, each read into its type from what the request
//! wrote (`{"type": "image", "link": ...}`, `[{"sub_type": "url", "index": 0, ...}]`) and
//! turned into the Graph API's components.

use super::wire::{ButtonKind, Component, Link, Parameter};
use crate::domain::json::read;
use crate::error::ApiError;
use serde::Deserialize;
use serde_json::Value;

const MAX_HEADER_TEXT: usize = 60;
const MAX_BUTTONS: usize = 10;
const MAX_BUTTON_VALUE: usize = 2000;
const MAX_COUPON_CODE: usize = 15;

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

/// `{"type": "image" | "video" | "document", "link": <https URL>}` or
/// `{"type": "text", "text": ...}`.
pub(super) fn header(header: Option<Value>) -> Result<Option<Component>, ApiError> {
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
pub(super) fn buttons(buttons: Option<Value>) -> Result<Vec<Component>, ApiError> {
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
