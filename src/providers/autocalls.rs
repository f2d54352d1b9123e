//! autocalls: `POST {base}/api/user/whatsapp/send` with `Authorization: Bearer`, as
//! `shared/providers/autocalls-send-template.md` says (5 requests/s per user).

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
use std::collections::BTreeMap;

/// The documented refusals ("Error Responses"), then the statuses any HTTP API may give.
const TABLE: &[Row] = &[
    Row {
        status: 402,
        provider_code: Match::Exactly("INSUFFICIENT_BALANCE"),
        code: Code::InsufficientBalance,
    },
    Row {
        status: 404,
        provider_code: Match::Exactly("SENDER_NOT_FOUND"),
        code: Code::SenderNotFound,
    },
    Row {
        status: 404,
        provider_code: Match::Exactly("TEMPLATE_NOT_FOUND"),
        code: Code::TemplateNotFound,
    },
    Row {
        status: 422,
        provider_code: Match::Exactly("SENDER_OFFLINE"),
        code: Code::SenderOffline,
    },
    Row {
        status: 422,
        provider_code: Match::Exactly("TEMPLATE_NOT_APPROVED"),
        code: Code::TemplateNotApproved,
    },
    Row {
        status: 422,
        provider_code: Match::Exactly("TEMPLATE_MISMATCH"),
        code: Code::TemplateMismatch,
    },
    Row {
        status: 422,
        provider_code: Match::Exactly("INVALID_PHONE"),
        code: Code::InvalidPhone,
    },
    // TEMPLATE_NOT_SYNCED, NO_ASSISTANT_CONFIGURED, MESSAGING_LIMIT_UNAVAILABLE,
    // VOICE_CALL_LIMIT_NOT_MET, TWILIO_ERROR_{code}, UNKNOWN_ERROR: refusals the contract
    // has no code of its own for; `provider_code` keeps theirs.
    Row {
        status: 422,
        provider_code: Match::Prefix("TWILIO_ERROR_"),
        code: Code::ProviderRejected,
    },
    Row {
        status: 422,
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

pub struct Autocalls {
    url: Url,
}

impl Autocalls {
    pub fn new(base: &Url) -> Self {
        Autocalls {
            url: endpoint(base, "api/user/whatsapp/send"),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    sender_id: u64,
    template_id: u64,
    recipient_phone: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variables: Option<BTreeMap<&'a str, &'a str>>,
}

impl Provider for Autocalls {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Autocalls
    }

    fn auth(&self) -> Auth {
        Auth::Bearer
    }

    fn build(
        &self,
        request: &SendRequest,
        credentials: &Credentials,
    ) -> Result<ProviderRequest, ApiError> {
        let Template::Id(template_id) = request.template else {
            return Err(ApiError::internal());
        };
        let sender_id = request.autocalls.sender_id.or(credentials.sender_id).ok_or_else(|| {
            ApiError::new(
                Code::ConfigurationError,
                "no autocalls sender_id: give `autocalls.sender_id` or put `sender_id` in the provider's secret",
            )
            .with_provider("autocalls")
        })?;
        let variables = request.variables.entries();
        let body = Body {
            sender_id,
            template_id,
            recipient_phone: request.to.e164(),
            recipient_name: request.recipient_name.as_deref(),
            variables: (!variables.is_empty()).then(|| {
                variables
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect()
            }),
        };
        let body = serde_json::to_value(body).map_err(|_| ApiError::internal())?;
        Ok(ProviderRequest {
            url: self.url.clone(),
            body,
        })
    }

    fn interpret(&self, answer: &RawAnswer, redact: &Redact) -> Result<Accepted, ApiError> {
        let json = json_body(answer);
        let field = |name: &str| json.as_ref().and_then(|j| j.get(name));
        if answer.status == 200 {
            let sid = field("message_sid")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            return match (field("success").and_then(Value::as_bool), sid) {
                (Some(true), Some(sid)) => {
                    let details: Map<String, Value> =
                        ["conversation_id", "message_id", "whatsapp_message_id"]
                            .iter()
                            .filter_map(|k| {
                                field(k)
                                    .filter(|v| v.is_number())
                                    .map(|v| (k.to_string(), v.clone()))
                            })
                            .collect();
                    let status = field("status")
                        .and_then(Value::as_str)
                        .map(|s| redact.id(&s.to_lowercase(), MAX_CODE_CHARS))
                        .unwrap_or_else(|| "accepted".into());
                    Ok(Accepted {
                        status,
                        message_id: redact.id(sid, MAX_ID_CHARS),
                        details,
                    })
                }
                _ => Err(undocumented(
                    self.kind(),
                    answer,
                    "no success and message_sid",
                )),
            };
        }
        let code = field("error_code").and_then(Value::as_str);
        let message = field("error").and_then(Value::as_str);
        Err(refusal(self.kind(), TABLE, answer, code, message, redact))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider() -> Autocalls {
        Autocalls::new(&Url::parse("https://app.autocalls.ai").unwrap())
    }

    fn answer(status: u16, body: &str) -> RawAnswer {
        RawAnswer {
            status,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    fn request(extra: Value) -> SendRequest {
        let mut body = json!({"provider": "autocalls", "to": "+1 415 555 1234", "template": "45"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        SendRequest::parse(&body, None, None).unwrap()
    }

    #[test]
    fn the_request_follows_the_documentation() {
        let req = request(
            json!({"variables": ["John", 15.5], "recipient_name": "John Doe", "autocalls": {"sender_id": 12}}),
        );
        let built = provider()
            .build(&req, &Credentials::new("k", Some(99)))
            .unwrap();
        assert_eq!(
            built.url.as_str(),
            "https://app.autocalls.ai/api/user/whatsapp/send"
        );
        assert_eq!(
            built.body,
            json!({"sender_id": 12, "template_id": 45, "recipient_phone": "+14155551234",
                   "recipient_name": "John Doe", "variables": {"1": "John", "2": "15.5"}})
        );
    }

    #[test]
    fn the_secret_gives_the_default_sender_and_named_variables_pass_as_they_are() {
        let req = request(json!({"variables": {"name": "Ann"}}));
        let built = provider()
            .build(&req, &Credentials::new("k", Some(99)))
            .unwrap();
        assert_eq!(built.body["sender_id"], 99);
        assert_eq!(built.body["variables"], json!({"name": "Ann"}));
        let none = provider()
            .build(&request(json!({})), &Credentials::new("k", None))
            .unwrap_err();
        assert_eq!(none.code, Code::ConfigurationError);
        assert!(provider()
            .build(&request(json!({})), &Credentials::new("k", Some(1)))
            .unwrap()
            .body
            .get("variables")
            .is_none());
    }

    #[test]
    fn success_carries_the_sid_and_the_other_ids() {
        let ok = provider()
            .interpret(&answer(200, r#"{"success":true,"conversation_id":1234,"message_id":567,"whatsapp_message_id":890,"message_sid":"SMx","status":"Queued"}"#), &Redact::none())
            .unwrap();
        assert_eq!(
            (ok.status.as_str(), ok.message_id.as_str()),
            ("queued", "SMx")
        );
        assert_eq!(
            Value::Object(ok.details),
            json!({"conversation_id": 1234, "message_id": 567, "whatsapp_message_id": 890})
        );
    }

    #[test]
    fn every_documented_error_maps_to_the_contract() {
        let cases = [
            (
                402,
                "INSUFFICIENT_BALANCE",
                "INSUFFICIENT_BALANCE",
                402,
                false,
            ),
            (404, "SENDER_NOT_FOUND", "SENDER_NOT_FOUND", 422, false),
            (404, "TEMPLATE_NOT_FOUND", "TEMPLATE_NOT_FOUND", 422, false),
            (422, "SENDER_OFFLINE", "SENDER_OFFLINE", 422, true),
            (
                422,
                "TEMPLATE_NOT_APPROVED",
                "TEMPLATE_NOT_APPROVED",
                422,
                false,
            ),
            (422, "TEMPLATE_NOT_SYNCED", "PROVIDER_REJECTED", 422, false),
            (422, "TEMPLATE_MISMATCH", "TEMPLATE_MISMATCH", 422, false),
            (
                422,
                "NO_ASSISTANT_CONFIGURED",
                "PROVIDER_REJECTED",
                422,
                false,
            ),
            (422, "INVALID_PHONE", "INVALID_PHONE", 400, false),
            (
                422,
                "MESSAGING_LIMIT_UNAVAILABLE",
                "PROVIDER_REJECTED",
                422,
                false,
            ),
            (
                422,
                "VOICE_CALL_LIMIT_NOT_MET",
                "PROVIDER_REJECTED",
                422,
                false,
            ),
            (422, "TWILIO_ERROR_63016", "PROVIDER_REJECTED", 422, false),
            (422, "UNKNOWN_ERROR", "PROVIDER_REJECTED", 422, false),
            (401, "UNAUTHENTICATED", "PROVIDER_AUTH_FAILED", 502, false),
            (429, "TOO_MANY", "RATE_LIMITED", 429, true),
            (503, "DOWN", "PROVIDER_UNAVAILABLE", 502, true),
            (404, "SOMETHING_ELSE", "PROVIDER_UNAVAILABLE", 502, true),
        ];
        for (status, theirs, ours, http, retryable) in cases {
            let body = format!(
                r#"{{"success":false,"error":"Sender is not online. Current status: Offline","error_code":"{theirs}"}}"#
            );
            let err = provider()
                .interpret(&answer(status, &body), &Redact::none())
                .unwrap_err();
            assert_eq!(
                (err.code.as_str(), err.http_status(), err.code.retryable()),
                (ours, http, retryable),
                "{theirs}"
            );
            assert_eq!(err.provider_code.as_deref(), Some(theirs));
            assert_eq!(err.provider, Some("autocalls"));
        }
    }

    #[test]
    fn undocumented_answers_are_never_success() {
        for (status, body) in [
            (200, r#"{"success":true}"#),
            (200, r#"{"success":false,"message_sid":"SMx"}"#),
            (200, "<html>ok</html>"),
            (200, r#"{"success":true,"message_sid":"#),
            (502, "<html><body>Bad Gateway</body></html>"),
        ] {
            assert_eq!(
                provider()
                    .interpret(&answer(status, body), &Redact::none())
                    .unwrap_err()
                    .code,
                Code::ProviderUnavailable,
                "{body}"
            );
        }
    }

    #[test]
    fn echoed_phone_numbers_are_masked_in_messages() {
        let body = r#"{"success":false,"error":"Invalid phone number +14155551234","error_code":"INVALID_PHONE"}"#;
        let err = provider()
            .interpret(&answer(422, body), &Redact::none())
            .unwrap_err();
        assert_eq!(err.message, "Invalid phone number +*******1234");
    }
}
