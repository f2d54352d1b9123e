//! Everything built once per instance and shared by every invocation (and by concurrent
//! invocations, under Lambda Managed Instances). Nothing here does I/O until first used.

use crate::config::Config;
use crate::idempotency::Guard;
use crate::pacing::Pacer;
use crate::providers::transport::Transport;
use crate::providers::{self, Provider, Settings};
use crate::secrets::{SecretStore, Source};
use crate::telemetry::MetricsSink;
use std::collections::HashMap;
use tokio::sync::Semaphore;

pub struct App {
    pub config: Config,
    pub(crate) secrets: SecretStore,
    pub(crate) transport: Transport,
    /// One pacer per provider that has a rate, shared by all its sends.
    pub(crate) pacers: HashMap<&'static str, Pacer>,
    pub(crate) permits: Semaphore,
    pub(crate) metrics: MetricsSink,
    /// `None` without `IDEMPOTENCY_TABLE`: keys are then accepted and ignored.
    pub(crate) idempotency: Option<Guard>,
    /// Done once, by the first send (`App::cold_start_work`).
    pub(crate) cold_start: tokio::sync::OnceCell<()>,
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
        let pacers = config
            .providers
            .iter()
            .filter_map(|(name, settings)| Some((*name, Pacer::new(settings.max_rps?))))
            .collect();
        App {
            secrets: SecretStore::new(
                source,
                config.secret_refs.clone(),
                config.secrets_cache_ttl,
                config.secrets_stale_grace,
            ),
            transport: Transport::new(config.provider_timeout, config.pool_idle_timeout),
            pacers,
            permits: Semaphore::new(config.max_concurrency),
            metrics,
            idempotency: config.idempotency_table.clone().map(|table| {
                Guard::new(
                    table,
                    config.idempotency_ttl,
                    config.aws_endpoint_url.clone(),
                )
            }),
            cold_start: tokio::sync::OnceCell::new(),
            config,
        }
    }

    /// `DEFAULT_PROVIDER`, when set.
    pub(crate) fn default_provider(&self) -> Option<&'static dyn Provider> {
        self.config.default_provider.and_then(providers::find)
    }

    /// A provider's settings; every provider of the registry has them.
    pub(crate) fn settings(&self, provider: &dyn Provider) -> Option<&Settings> {
        self.config.providers.get(provider.name())
    }
}
