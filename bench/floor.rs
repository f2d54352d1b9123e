//! The benchmark's floors: minimal `lambda_runtime` functions that build the same AWS SDK
//! and HTTP clients as wa-dispatch (eagerly, as most functions do). `bench/run.sh` measures
//! both beside wa-dispatch.
//!
//! - The echo floor (default) answers each event with itself: the least any function does.
//! - The send floor (`FLOOR=send`) does the least a function of wa-dispatch's kind must do
//!   for one send: on its first event one `GetSecretValue`, then for each event one POST of
//!   the event to the provider (`BITBYBIT_BASE_URL`) with the key, answering its answer.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use tokio::sync::OnceCell;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let http = reqwest::Client::builder().build()?;
    let send = std::env::var("FLOOR").as_deref() == Ok("send");
    let provider = format!(
        "{}/messages/send-template",
        std::env::var("BITBYBIT_BASE_URL").unwrap_or_default()
    );
    let key: &'static OnceCell<String> = Box::leak(Box::new(OnceCell::new()));
    let (secrets, http, provider) = (
        &*Box::leak(Box::new(secrets)),
        &*Box::leak(Box::new(http)),
        &*Box::leak(Box::new(provider)),
    );
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| async move {
        if !send {
            return Ok::<Value, Error>(event.payload);
        }
        let key = key
            .get_or_try_init(|| async {
                let secret = secrets
                    .get_secret_value()
                    .secret_id(std::env::var("PROVIDER_SECRET_ID").unwrap_or_default())
                    .send()
                    .await?;
                let text: Value = serde_json::from_str(secret.secret_string().unwrap_or("{}"))?;
                Ok::<String, Error>(
                    text["bitbybit"]["api_key"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .await?;
        let answer = http
            .post(provider)
            .header("x-api-key", key)
            .header("content-type", "application/json")
            .body(event.payload.to_string())
            .send()
            .await?
            .bytes()
            .await?;
        Ok(serde_json::from_slice(&answer)?)
    }))
    .await
}
