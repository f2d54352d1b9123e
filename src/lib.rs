//! wa-dispatch: sends approved WhatsApp template messages through bitbybit or autocalls
//! and answers in one normalized shape, from any Lambda event source.
//!
//! Data flows one way: `entry` recognises the event, `request` validates it, `service`
//! sends it through one `providers::Provider` with keys from `secrets`, and the answer
//! goes back out through the same entry point.

mod aws;
pub mod config;
pub mod entry;
pub mod error;
pub mod idempotency;
pub mod pacing;
pub mod phone;
pub mod providers;
pub mod request;
pub mod secrets;
pub mod service;
pub mod telemetry;

pub use config::Config;
pub use entry::handle;
pub use service::Invocation;

use providers::transport::Transport;
use providers::Registry;
use secrets::{SecretStore, Source};
use telemetry::MetricsSink;
use tokio::sync::Semaphore;

/// Everything built once per instance and shared by every invocation (and by concurrent
/// invocations, under Lambda Managed Instances). Nothing here does I/O until first used.
pub struct App {
    pub config: Config,
    secrets: SecretStore,
    providers: Registry,
    transport: Transport,
    autocalls_pacer: pacing::Pacer,
    permits: Semaphore,
    metrics: MetricsSink,
    /// `None` without `IDEMPOTENCY_TABLE`: keys are then accepted and ignored.
    idempotency: Option<idempotency::Guard>,
    /// Done once, by the first send (`App::cold_start_work`).
    cold_start: tokio::sync::OnceCell<()>,
}

impl App {
    pub fn new(config: Config) -> App {
        App::with_metrics(config, MetricsSink::Stdout)
    }

    pub fn with_metrics(config: Config, metrics: MetricsSink) -> App {
        let source = match &config.secrets_file {
            Some(path) => Source::File(path.clone()),
            None => Source::secrets_manager(config.aws_endpoint_url.clone()),
        };
        App {
            secrets: SecretStore::new(
                source,
                config.secret_refs.clone(),
                config.secrets_cache_ttl,
                config.secrets_stale_grace,
            ),
            providers: Registry::new(&config.bitbybit_base_url, &config.autocalls_base_url),
            transport: Transport::new(config.provider_timeout, config.pool_idle_timeout),
            autocalls_pacer: pacing::Pacer::new(config.autocalls_max_rps),
            permits: Semaphore::new(config.max_concurrency),
            metrics,
            idempotency: config.idempotency_table.clone().map(|table| {
                idempotency::Guard::new(
                    table,
                    config.idempotency_ttl,
                    config.aws_endpoint_url.clone(),
                )
            }),
            cold_start: tokio::sync::OnceCell::new(),
            config,
        }
    }
}
