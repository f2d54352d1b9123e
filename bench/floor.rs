//! The benchmark's floor: a minimal `lambda_runtime` function that builds the same AWS SDK
//! and HTTP clients as wa-dispatch (eagerly, as most functions do) and does nothing else
//! but answer each event with itself. `bench/run.sh` measures it beside wa-dispatch.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let http = reqwest::Client::builder().build()?;
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| {
        // Held, never used: the floor pays for building them and nothing more.
        let _clients = (&secrets, &http);
        async move { Ok::<Value, Error>(event.payload) }
    }))
    .await
}
