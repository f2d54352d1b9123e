//! bitbybit: `POST {base}/messages/send-template` with header `x-api-key`, as its OpenAPI
//! document (`shared/providers/bitbybit-send-template.md`) says.

use super::{
    endpoint, json_body, refusal, undocumented, Accepted, Auth, Match, Provider, ProviderKind,
    ProviderRequest, RawAnswer, Redact, Row, MAX_CODE_CHARS, MAX_ID_CHARS,
};
use crate::error::{ApiError, Code};
use crate::request::{SendRequest, Template};
use crate::secrets::Credentials;
use reqwest::Url;
use serde::Serialize;
use serde_json::{Map, Value};

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

pub struct Bitbybit {
    url: Url,
}

impl Bitbybit {
    pub fn new(base: &Url) -> Self {
        Bitbybit {
            url: endpoint(base, "messages/send-template"),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    to: &'a str,
    template_name: &'a str,
    template_source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Vec<&'a str>>,
    #[serde(rename = "mediaUrl", skip_serializing_if = "Option::is_none")]
    media_url: Option<&'a str>,
    #[serde(rename = "ignoreActiveTicket", skip_serializing_if = "Option::is_none")]
    ignore_active_ticket: Option<bool>,
    #[serde(rename = "countryCode", skip_serializing_if = "Option::is_none")]
    country_code: Option<&'a str>,
}

impl Provider for Bitbybit {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Bitbybit
    }

    fn auth(&self) -> Auth {
        Auth::Header("x-api-key")
    }

    fn build(
        &self,
        request: &SendRequest,
        _credentials: &Credentials,
    ) -> Result<ProviderRequest, ApiError> {
        let Template::Name(name) = &request.template else {
            return Err(ApiError::internal());
        };
        let options = &request.bitbybit;
        let body = Body {
            to: request.to.digits(),
            template_name: name,
            // Required by bitbybit; the contract's default is CRM.
            template_source: options.template_source.as_deref().unwrap_or("CRM"),
            sources: options.sources.as_deref(),
            params: (!request.variables.is_empty()).then(|| request.variables.values()),
            media_url: request.media_url.as_deref(),
            ignore_active_ticket: options.ignore_active_ticket,
            country_code: request.country.as_ref().map(|c| c.as_str()),
        };
        let body = serde_json::to_value(body).map_err(|_| ApiError::internal())?;
        Ok(ProviderRequest {
            url: self.url.clone(),
            body,
        })
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
                _ => Err(undocumented(self.kind(), answer, "no data.messageId2")),
            };
        }
        let error = json.as_ref().and_then(|j| j.get("error"));
        let code = error.and_then(|e| e.get("code")).and_then(Value::as_str);
        let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
        Err(refusal(self.kind(), TABLE, answer, code, message, redact))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::SendRequest;
    use serde_json::json;

    fn provider() -> Bitbybit {
        Bitbybit::new(&Url::parse("https://api.bitbybit.studio/whatsapp/open/v1").unwrap())
    }

    fn answer(status: u16, body: &str) -> RawAnswer {
        RawAnswer {
            status,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_request_follows_the_documentation() {
        let request = SendRequest::parse(
            &json!({"provider": "bitbybit", "to": "0812-3456-7890", "country": "ID", "template": "welcome",
                    "variables": {"2": "b", "1": 7}, "media_url": "https://cdn.example/a.png",
                    "recipient_name": "left out", "bitbybit": {"sources": "whatsapp coex", "ignore_active_ticket": true}}),
            None,
            None,
        )
        .unwrap();
        let built = provider()
            .build(&request, &Credentials::new("k", None))
            .unwrap();
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
    fn success_carries_message_id2_and_timestamp() {
        let ok = provider()
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
            let err = provider()
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
            let err = provider()
                .interpret(&answer(status, body), &Redact::none())
                .unwrap_err();
            assert_eq!(err.code, Code::ProviderUnavailable, "{status} {body}");
        }
    }
}
