//! The Lambda bootstrap: read the configuration, build the `App` once, serve events.
//! Every event source arrives here as JSON; `wa_dispatch::handle` tells them apart.

#![recursion_limit = "256"]
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;
use std::time::{Duration, SystemTime};
use wa_dispatch::{App, Config, Invocation};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    if let Err(error) = wa_dispatch::telemetry::init(config.log_format) {
        eprintln!("{error}");
        std::process::exit(2);
    }
    if config.preload_phone_metadata {
        let started = std::time::Instant::now();
        wa_dispatch::phone::preload();
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "phone metadata loaded during init"
        );
    }
    let app: &'static App = Box::leak(Box::new(App::new(config)));
    // The event as its text: a send request's numbers are sent as written there.
    lambda_runtime::run_concurrent(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let invocation =
                Invocation::new(event.context.request_id.clone(), time_left(&event.context));
            wa_dispatch::handle(event.payload.get(), &invocation, app).await
        },
    ))
    .await
}

/// Lambda sends the deadline as epoch milliseconds; `cargo lambda watch` sends the
/// function's timeout in milliseconds instead (600000), which would read as long past.
fn time_left(context: &lambda_runtime::Context) -> Duration {
    const YEAR_2001_MS: u64 = 978_307_200_000;
    if context.deadline < YEAR_2001_MS {
        return Duration::from_millis(context.deadline);
    }
    context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO)
}
