//! echo: a provider that exists only in this crate's unit tests, to show what adding one
//! takes: this file and its line in `REGISTRY`, nothing else. It posts
//! `{"to", "template", "values"}` to `{base}/send` with header `x-echo-key` and answers
//! `{"id"}`; its requests, settings, secret and answers are the same kind of thing a real
//! provider's are, and it is sent through HTTP, SQS and a dry run below.

use super::answers::{json_body, refusal, undocumented, Match, Row, MAX_ID_CHARS};
use super::provider::{
    endpoint, Accepted, Auth, Defaults, Input, Message, Provider, ProviderRequest, RawAnswer,
    Settings,
};
use super::redact::Redact;
use crate::error::{ApiError, Code};
use crate::infra::secrets::Secret;
use serde::Serialize;
use serde_json::Value;

const NAME: &str = "echo";

const TABLE: &[Row] = &[Row {
    status: 400,
    provider_code: Match::Any,
    code: Code::ProviderRejected,
}];

pub struct Echo;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EchoBlock {}

#[derive(Serialize)]
struct EchoMessage {
    to: String,
    template: String,
    values: Vec<String>,
}

impl Provider for Echo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            base_url: "https://echo.invalid",
            max_rps: Some(100.0),
        }
    }

    fn auth(&self) -> Auth {
        Auth::Header("x-echo-key")
    }

    fn parse(&self, input: &Input<'_>) -> Result<Box<dyn Message>, ApiError> {
        // A bug on demand, for the tests that show one send's panic fails only itself.
        if input.template.and_then(Value::as_str) == Some("sim_panic") {
            panic!("echo was asked to panic");
        }
        // echo has no options: any field of its block is unknown.
        crate::domain::json::read_raw::<EchoBlock>(input.block, NAME)?;
        let template = match input.template {
            Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
            _ => {
                return Err(ApiError::invalid(
                    "template",
                    "`template` must be a name for echo",
                ))
            }
        };
        Ok(Box::new(EchoMessage {
            to: input.to.e164().to_string(),
            template,
            values: input
                .variables
                .positional(NAME)?
                .iter()
                .map(|v| v.to_string())
                .collect(),
        }))
    }

    fn interpret(&self, answer: &RawAnswer, redact: &Redact) -> Result<Accepted, ApiError> {
        let json = json_body(answer);
        match json
            .as_ref()
            .and_then(|j| j.get("id"))
            .and_then(Value::as_str)
        {
            Some(id) if answer.status == 200 => Ok(Accepted {
                status: "accepted".into(),
                message_id: redact.id(id, MAX_ID_CHARS),
                details: Default::default(),
            }),
            _ if answer.status == 200 => Err(undocumented(NAME, answer, "no id")),
            _ => Err(refusal(NAME, TABLE, answer, None, None, redact)),
        }
    }
}

impl Message for EchoMessage {
    fn build(&self, _: Option<&Secret>, settings: &Settings) -> Result<ProviderRequest, ApiError> {
        Ok(ProviderRequest {
            url: endpoint(&settings.base_url, "send"),
            body: self.fingerprint(),
        })
    }

    fn fingerprint(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use crate::{entry, App, Config};
    use serde_json::{json, Value};
    use std::time::Duration;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// An App with echo at `server`, its key in a local secrets file.
    async fn app(server: &MockServer) -> App {
        let secrets = std::env::temp_dir().join(format!("wa-dispatch-echo-{}", fastrand::u64(..)));
        std::fs::write(
            &secrets,
            json!({"echo": {"api_key": "echo-key"}}).to_string(),
        )
        .unwrap();
        let vars = [
            ("PROVIDER_SECRETS_FILE", secrets.display().to_string()),
            ("ECHO_BASE_URL", server.uri()),
        ];
        let config =
            Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
        App::new(config.unwrap())
    }

    fn send() -> Value {
        json!({"provider": "echo", "to": "+1 415 555 0100", "template": "hello", "variables": ["Ana"]})
    }

    async fn invoke(app: &App, event: Value) -> Value {
        entry::invoke(&event.to_string(), "echo-1", Duration::from_secs(10), app)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_provider_added_in_one_file_sends_through_http_sqs_and_a_dry_run() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/send"))
            .and(header("x-echo-key", "echo-key"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "e-1"})))
            .expect(2)
            .mount(&server)
            .await;
        let app = app(&server).await;

        let text = std::fs::read_to_string(format!(
            "{}/events/http-api-v2.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut http: Value = serde_json::from_str(&text).unwrap();
        http["body"] = json!(send().to_string());
        http["isBase64Encoded"] = json!(false);
        let answer = invoke(&app, http).await;
        let document: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(answer["statusCode"], 200, "{document}");
        assert_eq!(
            (
                document["provider"].as_str(),
                document["message_id"].as_str(),
                document["to"].as_str()
            ),
            (Some("echo"), Some("e-1"), Some("+14155550100"))
        );

        let sqs = json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": send().to_string()}]});
        assert_eq!(invoke(&app, sqs).await, json!({"batchItemFailures": []}));

        let mut dry = send();
        dry["dry_run"] = json!(true);
        let answer = invoke(&app, dry).await;
        assert_eq!(
            answer["provider_request"],
            json!({"method": "POST", "url": format!("{}/send", server.uri()),
                   "body": {"to": "+14155550100", "template": "hello", "values": ["Ana"]}})
        );
        assert_eq!(answer["http_status"], 200);
    }

    #[tokio::test]
    async fn a_panicking_entry_or_record_fails_only_itself() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "e-1"})))
            .mount(&server)
            .await;
        let app = app(&server).await;
        let entry = |i: usize| {
            let mut body = send();
            if i == 4 {
                body["template"] = json!("sim_panic");
            }
            body
        };
        let text = std::fs::read_to_string(format!(
            "{}/events/http-api-v2.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut http: Value = serde_json::from_str(&text).unwrap();
        http["rawPath"] = json!("/v1/messages/batch");
        http["body"] =
            json!(json!({"messages": (0..10).map(entry).collect::<Vec<_>>()}).to_string());
        http["isBase64Encoded"] = json!(false);
        let answer = invoke(&app, http).await;
        let document: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        let statuses: Vec<u64> = document["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["http_status"].as_u64().unwrap())
            .collect();
        assert_eq!(statuses, [200, 200, 200, 200, 500, 200, 200, 200, 200, 200]);
        assert_eq!(document["results"][4]["error"]["code"], "INTERNAL");
        let records: Vec<Value> = (0..10)
            .map(|i| json!({"messageId": format!("m-{i}"), "eventSource": "aws:sqs", "body": entry(i).to_string()}))
            .collect();
        let sqs = invoke(&app, json!({"Records": records})).await;
        assert_eq!(
            sqs,
            json!({"batchItemFailures": [{"itemIdentifier": "m-4"}]})
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 18);
    }
}
