//! bitbybit: `POST {base}/messages/send-template` with header `x-api-key`, as its OpenAPI
//! document (`shared/providers/bitbybit-send-template.md`) says. Its templates have names,
//! its variables are positional, it takes a media URL, and it documents no rate.

use super::answers::{json_body, refusal, undocumented, Match, Row, MAX_CODE_CHARS, MAX_ID_CHARS};
use super::{
    endpoint, Accepted, Auth, Defaults, Input, Message, Provider, ProviderRequest, RawAnswer,
    Redact, Settings,
};
use crate::error::{ApiError, Code};
use crate::secrets::Secret;
use serde::Serialize;
use serde_json::{Map, Value};

const NAME: &str = "bitbybit";
const TEMPLATE_SOURCES: &[&str] = &["CRM", "AUTH"];
const CHANNELS: &[&str] = &["whatsapp cloud api", "whatsapp coex"];
const MAX_TEMPLATE_CHARS: usize = 512;

/// The documented refusals: 400 `VALIDATION_ERROR`, 401 `INVALID_API_KEY`,
/// 403 `INSUFFICIENT_SCOPE`, 429 `RATE_LIMIT_EXCEEDED`.
const TABLE: &[Row] = &[
    Row {
        status: 400,
        provider_code: Match::Any,
        code: Code::ProviderRejected,
    },
    Row {
        status: 401,
        provider_code: Match::Any,
        code: Code::ProviderAuthFailed,
    },
    Row {
        status: 403,
        provider_code: Match::Any,
        code: Code::ProviderAuthFailed,
    },
    Row {
        status: 429,
        provider_code: Match::Any,
        code: Code::RateLimited,
    },
];

pub struct Bitbybit;

/// A bitbybit send, as its API takes it (the wire body itself: nothing else is sent).
#[derive(Serialize)]
struct Send {
    to: String,
    template_name: String,
    template_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Vec<String>>,
    #[serde(rename = "mediaUrl", skip_serializing_if = "Option::is_none")]
    media_url: Option<String>,
    #[serde(rename = "ignoreActiveTicket", skip_serializing_if = "Option::is_none")]
    ignore_active_ticket: Option<bool>,
    #[serde(rename = "countryCode", skip_serializing_if = "Option::is_none")]
    country_code: Option<String>,
}

impl Provider for Bitbybit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            base_url: "https://api.bitbybit.studio/whatsapp/open/v1",
            max_rps: None,
        }
    }

    fn auth(&self) -> Auth {
        Auth::Header("x-api-key")
    }

    fn parse(&self, input: &Input<'_>) -> Result<Box<dyn Message>, ApiError> {
        let bad = |why: &str| ApiError::invalid("template", format!("`template` {why}"));
        let template_name = match input.template {
            None | Some(Value::Null) => return Err(bad("is required")),
            Some(Value::String(name)) if name.trim().is_empty() => {
                return Err(bad("must be a non-empty template name for bitbybit"))
            }
            Some(Value::String(name)) if name.chars().count() > MAX_TEMPLATE_CHARS => {
                return Err(bad(&format!(
                    "must be at most {MAX_TEMPLATE_CHARS} characters"
                )))
            }
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(bad("must be the template's name (a string) for bitbybit")),
        };
        let params = input.variables.positional(NAME)?;
        let block = Block(input.block);
        Ok(Box::new(Send {
            to: input.to.digits().to_string(),
            template_name,
            // Required by bitbybit; the contract's default is CRM.
            template_source: block
                .one_of("template_source", TEMPLATE_SOURCES)?
                .unwrap_or("CRM"),
            sources: block.one_of("sources", CHANNELS)?,
            params: (!params.is_empty()).then(|| params.iter().map(|v| v.to_string()).collect()),
            media_url: input.media_url.map(str::to_string),
            ignore_active_ticket: block.boolean("ignore_active_ticket")?,
            country_code: input.country.map(|c| c.as_str().to_string()),
        }))
    }

    fn interpret(&self, answer: &RawAnswer, redact: &Redact) -> Result<Accepted, ApiError> {
        let json = json_body(answer);
        if answer.status == 200 {
            let data = json.as_ref().and_then(|j| j.get("data"));
            let message_id = data
                .and_then(|d| d.get("messageId2"))
                .and_then(Value::as_str);
            return match message_id {
                Some(id) if !id.is_empty() => {
                    let mut details = Map::new();
                    if let Some(ts) = data
                        .and_then(|d| d.get("timestamp"))
                        .and_then(Value::as_str)
                    {
                        details.insert("timestamp".into(), redact.id(ts, MAX_CODE_CHARS).into());
                    }
                    Ok(Accepted {
                        status: "accepted".into(),
                        message_id: redact.id(id, MAX_ID_CHARS),
                        details,
                    })
                }
                _ => Err(undocumented(NAME, answer, "no data.messageId2")),
            };
        }
        let error = json.as_ref().and_then(|j| j.get("error"));
        let code = error.and_then(|e| e.get("code")).and_then(Value::as_str);
        let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
        Err(refusal(NAME, TABLE, answer, code, message, redact))
    }
}

impl Message for Send {
    fn build(&self, _: Option<&Secret>, settings: &Settings) -> Result<ProviderRequest, ApiError> {
        Ok(ProviderRequest {
            url: endpoint(&settings.base_url, "messages/send-template"),
            body: self.fingerprint(),
        })
    }

    fn fingerprint(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The request's `bitbybit` block: `template_source`, `sources`, `ignore_active_ticket`.
struct Block<'a>(Option<&'a Map<String, Value>>);

impl Block<'_> {
    fn get(&self, name: &str) -> Result<Option<&Value>, ApiError> {
        let Some(block) = self.0 else { return Ok(None) };
        if let Some(unknown) = block
            .keys()
            .find(|k| !["template_source", "sources", "ignore_active_ticket"].contains(&k.as_str()))
        {
            let field = format!("{NAME}.{unknown}");
            return Err(ApiError::invalid(
                &field,
                format!("unknown field `{field}`"),
            ));
        }
        Ok(block.get(name).filter(|v| !v.is_null()))
    }

    fn one_of(
        &self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, ApiError> {
        let field = format!("{NAME}.{name}");
        match self.get(name)? {
            None => Ok(None),
            Some(Value::String(s)) => allowed
                .iter()
                .copied()
                .find(|a| a == s)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid(&field, format!("`{field}` must be one of {allowed:?}"))
                }),
            Some(_) => Err(ApiError::invalid(
                &field,
                format!("`{field}` must be one of {allowed:?}"),
            )),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        let field = format!("{NAME}.{name}");
        match self.get(name)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid(
                &field,
                format!("`{field}` must be a boolean"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::{answer, parse, settings};
    use serde_json::json;

    fn built(request: Value) -> Result<Value, ApiError> {
        let message = parse(&Bitbybit, &request)?;
        Ok(message.build(None, &settings(&Bitbybit))?.body)
    }

    #[test]
    fn the_request_follows_the_documentation() {
        let request = json!({"provider": "bitbybit", "to": "0812-3456-7890", "country": "ID", "template": "welcome",
                "variables": {"2": "b", "1": 7}, "media_url": "https://cdn.example/a.png",
                "recipient_name": "left out", "bitbybit": {"sources": "whatsapp coex", "ignore_active_ticket": true}});
        let message = parse(&Bitbybit, &request).unwrap();
        let built = message.build(None, &settings(&Bitbybit)).unwrap();
        assert_eq!(
            built.url.as_str(),
            "https://api.bitbybit.studio/whatsapp/open/v1/messages/send-template"
        );
        assert_eq!(
            built.body,
            json!({"to": "6281234567890", "template_name": "welcome", "template_source": "CRM",
                   "sources": "whatsapp coex", "params": ["7", "b"], "mediaUrl": "https://cdn.example/a.png",
                   "ignoreActiveTicket": true, "countryCode": "ID"})
        );
    }

    #[test]
    fn its_template_variables_and_block_are_checked() {
        let base = |extra: Value| {
            let mut body = json!({"provider": "bitbybit", "to": "+14155551234", "template": "t"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            built(body).unwrap_err().field
        };
        assert_eq!(base(json!({"template": 45})).as_deref(), Some("template"));
        assert_eq!(base(json!({"template": "  "})).as_deref(), Some("template"));
        assert_eq!(
            base(json!({"variables": {"1": "a", "3": "c"}})).as_deref(),
            Some("variables.3")
        );
        assert_eq!(
            base(json!({"variables": {"name": "a"}})).as_deref(),
            Some("variables.name")
        );
        assert_eq!(
            base(json!({"bitbybit": {"sources": "sms"}})).as_deref(),
            Some("bitbybit.sources")
        );
        assert_eq!(
            base(json!({"bitbybit": {"source": "CRM"}})).as_deref(),
            Some("bitbybit.source")
        );
        let ordered = built(json!({"provider": "bitbybit", "to": "+14155551234", "template": "t",
            "variables": {"10": "j", "2": "b", "1": "a", "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9.5}}))
            .unwrap();
        assert_eq!(
            ordered["params"],
            json!(["a", "b", "3", "4", "5", "6", "7", "8", "9.5", "j"])
        );
    }

    #[test]
    fn success_carries_message_id2_and_timestamp() {
        let ok = Bitbybit
            .interpret(
                &answer(
                    200,
                    r#"{"data":{"messageId2":"wamid.1","timestamp":"2026-01-15T14:00:00Z"}}"#,
                ),
                &Redact::none(),
            )
            .unwrap();
        assert_eq!(ok.message_id, "wamid.1");
        assert_eq!(ok.status, "accepted");
        assert_eq!(ok.details["timestamp"], "2026-01-15T14:00:00Z");
    }

    #[test]
    fn every_documented_error_maps_to_the_contract() {
        let cases = [
            (400, "VALIDATION_ERROR", "PROVIDER_REJECTED", 422, false),
            (401, "INVALID_API_KEY", "PROVIDER_AUTH_FAILED", 502, false),
            (
                403,
                "INSUFFICIENT_SCOPE",
                "PROVIDER_AUTH_FAILED",
                502,
                false,
            ),
            (429, "RATE_LIMIT_EXCEEDED", "RATE_LIMITED", 429, true),
            (500, "INTERNAL", "PROVIDER_UNAVAILABLE", 502, true),
            (404, "NOT_FOUND", "PROVIDER_UNAVAILABLE", 502, true),
        ];
        for (status, theirs, ours, http, retryable) in cases {
            let body = format!(r#"{{"error":{{"code":"{theirs}","message":"m"}}}}"#);
            let err = Bitbybit
                .interpret(&answer(status, &body), &Redact::none())
                .unwrap_err();
            assert_eq!(
                (err.code.as_str(), err.http_status(), err.code.retryable()),
                (ours, http, retryable),
                "{status}"
            );
            assert_eq!(err.provider_status, Some(status));
            assert_eq!(err.provider_code.as_deref(), Some(theirs));
        }
    }

    #[test]
    fn undocumented_answers_are_never_success() {
        for (status, body) in [
            (200, r#"{"data":{}}"#),
            (200, r#"{"ok":true}"#),
            (200, ""),
            (200, "<html>ok</html>"),
            (502, "<html><body>Bad Gateway</body></html>"),
        ] {
            let err = Bitbybit
                .interpret(&answer(status, body), &Redact::none())
                .unwrap_err();
            assert_eq!(err.code, Code::ProviderUnavailable, "{status} {body}");
        }
    }
}
