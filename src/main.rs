//! The Lambda bootstrap: read the configuration, build the `App` once, serve every event
//! source through `lambda_http` (HTTP requests, and any other event as its pass-through).

use lambda_http::{Adapter, Error};
use wa_dispatch::entry::Guard;
use wa_dispatch::{App, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    if let Err(error) = wa_dispatch::infra::telemetry::init(config.log_format) {
        eprintln!("{error}");
        std::process::exit(2);
    }
    if config.preload_phone_metadata {
        let started = std::time::Instant::now();
        wa_dispatch::domain::phone::preload();
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "phone metadata loaded during init"
        );
    }
    let app: &'static App = Box::leak(Box::new(App::new(config)));
    let service = lambda_http::service_fn(move |request| wa_dispatch::entry::handle(request, app));
    // `lambda_http::run_concurrent(service)` is this without the guard (entry::Guard).
    lambda_http::lambda_runtime::run_concurrent(Guard::new(Adapter::from(service))).await
}
