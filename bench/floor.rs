//! The benchmark's floors: minimal `lambda_runtime` functions that build the same AWS SDK
//! and HTTP clients as wa-dispatch (eagerly, as most functions do). `bench/run.sh` measures
//! them beside wa-dispatch.
//!
//! - The echo floor (default) answers each event with itself: the least any function does.
//! - The send floor (`FLOOR=send`) does the least a function of wa-dispatch's kind must do
//!   for one send: on its first event one `GetSecretValue`, then for each event one POST of
//!   the event to the provider (`BITBYBIT_BASE_URL`) with the key, answering its answer.
//! - The webhook floor (`FLOOR=webhook`) does the least a status receiver must do with a
//!   Meta webhook (an HTTP API event): on its first event one `GetSecretValue` for the app
//!   secret, then for each event the `X-Hub-Signature-256` HMAC checked on the body, and
//!   each status put on `STATUS_EVENT_BUS` as it came, ten entries a `PutEvents`, eight
//!   calls in flight at once (as wa-dispatch puts them). No table, no normalizing, no
//!   retries.

use aws_lc_rs::hmac;
use futures_util::StreamExt;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

/// The clients and settings every event uses, built once at start.
struct Floor {
    mode: String,
    secrets: aws_sdk_secretsmanager::Client,
    bus: aws_sdk_eventbridge::Client,
    http: reqwest::Client,
    provider: String,
    /// The secret's one value the mode needs: bitbybit's key or Meta's app secret.
    value: OnceCell<String>,
}

impl Floor {
    async fn value(&self, provider: &str, field: &str) -> Result<&str, Error> {
        let value = self
            .value
            .get_or_try_init(|| async {
                let secret = self
                    .secrets
                    .get_secret_value()
                    .secret_id(std::env::var("PROVIDER_SECRET_ID").unwrap_or_default())
                    .send()
                    .await?;
                let text: Value = serde_json::from_str(secret.secret_string().unwrap_or("{}"))?;
                Ok::<String, Error>(text[provider][field].as_str().unwrap_or("").to_string())
            })
            .await?;
        Ok(value)
    }

    async fn send(&self, event: Value) -> Result<Value, Error> {
        let key = self.value("bitbybit", "api_key").await?;
        let answer = self
            .http
            .post(&self.provider)
            .header("x-api-key", key)
            .header("content-type", "application/json")
            .body(event.to_string())
            .send()
            .await?
            .bytes()
            .await?;
        Ok(serde_json::from_slice(&answer)?)
    }

    async fn webhook(&self, event: Value) -> Result<Value, Error> {
        let app_secret = self.value("meta", "app_secret").await?;
        let body = event["body"].as_str().unwrap_or("");
        let signature = event["headers"]["x-hub-signature-256"]
            .as_str()
            .and_then(|s| s.strip_prefix("sha256="))
            .and_then(|s| hex::decode(s).ok())
            .unwrap_or_default();
        let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret.as_bytes());
        if hmac::verify(&key, body.as_bytes(), &signature).is_err() {
            return Ok(json!({"statusCode": 401}));
        }
        let payload: Value = serde_json::from_str(body)?;
        let mut entries = vec![];
        for entry in payload["entry"].as_array().into_iter().flatten() {
            for change in entry["changes"].as_array().into_iter().flatten() {
                for status in change["value"]["statuses"].as_array().into_iter().flatten() {
                    entries.push(
                        aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                            .event_bus_name(std::env::var("STATUS_EVENT_BUS").unwrap_or_default())
                            .source("wa-dispatch.status")
                            .detail_type("WhatsApp message status")
                            .detail(status.to_string())
                            .build(),
                    );
                }
            }
        }
        let published = entries.len();
        let chunks: Vec<Vec<_>> = entries.chunks(10).map(<[_]>::to_vec).collect();
        let mut puts = futures_util::stream::iter(chunks)
            .map(|chunk| self.bus.put_events().set_entries(Some(chunk)).send())
            .buffer_unordered(8);
        while let Some(put) = puts.next().await {
            put?;
        }
        let body = json!({ "published": published }).to_string();
        Ok(json!({"statusCode": 200, "body": body}))
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let floor: &'static Floor = Box::leak(Box::new(Floor {
        mode: std::env::var("FLOOR").unwrap_or_default(),
        secrets: aws_sdk_secretsmanager::Client::new(&config),
        bus: aws_sdk_eventbridge::Client::new(&config),
        http: reqwest::Client::builder().build()?,
        provider: format!(
            "{}/messages/send-template",
            std::env::var("BITBYBIT_BASE_URL").unwrap_or_default()
        ),
        value: OnceCell::new(),
    }));
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| async move {
        match floor.mode.as_str() {
            "send" => floor.send(event.payload).await,
            "webhook" => floor.webhook(event.payload).await,
            _ => Ok::<Value, Error>(event.payload),
        }
    }))
    .await
}
