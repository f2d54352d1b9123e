//! Helpers for the providers' unit tests: a request's common parts read from JSON (as
//! `request.rs` reads them), a provider's default settings, and a provider's answer.

use super::provider::{Message, Provider, RawAnswer, Settings};
use crate::error::ApiError;
use reqwest::Url;
use serde_json::Value;

/// `provider`'s message for a send request given as JSON, read by the production parser
/// (`body` names its provider).
pub fn parse(provider: &dyn Provider, body: &Value) -> Result<Box<dyn Message>, ApiError> {
    let mut body = body.clone();
    body["provider"] = Value::String(provider.name().to_string());
    crate::send::request::SendRequest::parse(&body.to_string(), None, None)
        .map(|r| r.into_message())
}

pub fn settings(provider: &dyn Provider) -> Settings {
    let defaults = provider.defaults();
    Settings {
        base_url: Url::parse(defaults.base_url).unwrap(),
        max_rps: defaults.max_rps,
    }
}

pub fn answer(status: u16, body: &str) -> RawAnswer {
    RawAnswer::new(
        status,
        Some("application/json".into()),
        body.as_bytes().to_vec(),
    )
}
