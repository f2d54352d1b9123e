//! Helpers for the providers' unit tests: a request's common parts read from JSON (as
//! `request.rs` reads them), a provider's default settings, and a provider's answer.

use super::{Input, Message, Provider, RawAnswer, Settings};
use crate::domain::phone::{Country, Phone};
use crate::domain::variables::Variables;
use crate::error::ApiError;
use reqwest::Url;
use serde_json::Value;

/// `provider`'s message for a send request given as JSON (its common parts valid).
pub fn parse(provider: &dyn Provider, body: &Value) -> Result<Box<dyn Message>, ApiError> {
    let country = body["country"].as_str().map(|c| Country::parse(c).unwrap());
    let to = Phone::parse(body["to"].as_str().unwrap(), country).unwrap();
    let variables = Variables::parse(body.get("variables"), None)?;
    provider.parse(&Input {
        to: &to,
        country,
        template: body.get("template"),
        variables: &variables,
        recipient_name: body["recipient_name"].as_str(),
        media_url: body["media_url"].as_str(),
        block: body.get(provider.name()).and_then(Value::as_object),
    })
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
