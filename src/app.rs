//! Everything built once per instance and shared by every invocation (and by concurrent
//! invocations, under Lambda Managed Instances): the send pipeline and the status tracker
//! on their seams (each a trait, with a stand-in where the deployment has none), and the
//! metrics. Nothing here does I/O until first used.

use crate::config::{Config, StatusTable};
use crate::delivery::StatusTracker;
use crate::infra::aws::Aws;
use crate::infra::events::{EventBridgeBus, EventBus, NoBus};
use crate::infra::idempotency::{Dynamo, IdempotencyStore, NoRecords};
use crate::infra::metrics::MetricsSink;
use crate::infra::pacing::{Pacers, RateLimiter, SharedLimit};
use crate::infra::secrets::{SecretStore, Secrets, Source};
use crate::infra::statuses::{DynamoStatuses, MemoryStatuses, NoStatuses, StatusStore};
use crate::send::Sender;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub sender: Sender,
    /// Delivery statuses: webhooks received, messages' records kept.
    pub statuses: Arc<StatusTracker>,
    pub metrics: MetricsSink,
}

/// What an App talks to, each behind its trait.
pub struct Seams {
    pub secrets: Arc<dyn Secrets>,
    /// Idempotency records (`IDEMPOTENCY_TABLE`).
    pub records: Arc<dyn IdempotencyStore>,
    /// The providers' rate limits, kept by all instances together (`RATE_LIMIT_TABLE`) or
    /// by this one alone.
    pub limiter: Arc<dyn RateLimiter>,
    /// Sent messages' status records (`STATUS_TABLE`).
    pub statuses: Arc<dyn StatusStore>,
    /// Where status events are put (`STATUS_EVENT_BUS`).
    pub bus: Arc<dyn EventBus>,
}

impl Seams {
    /// `secrets`, and nothing else: no table, no bus, each limit kept by this instance.
    pub fn bare(config: &Config, secrets: Arc<dyn Secrets>) -> Seams {
        Seams {
            secrets,
            records: Arc::new(NoRecords),
            limiter: Arc::new(Pacers::new(&config.limits())),
            statuses: Arc::new(NoStatuses),
            bus: Arc::new(NoBus),
        }
    }

    /// The seams of a deployment: Secrets Manager (or the local file), and DynamoDB and
    /// EventBridge where the configuration names a table or a bus.
    pub fn of(config: &Config) -> Seams {
        let aws = Arc::new(Aws::new(config.aws_endpoint_url.clone()));
        let source = match &config.secrets_file {
            Some(path) => Source::File(path.clone()),
            None => Source::secrets_manager(aws.clone()),
        };
        let secrets: Arc<dyn Secrets> = Arc::new(SecretStore::new(
            source,
            config.secret_refs.clone(),
            config.fingerprint_secret.clone(),
            config.webhook_secret.clone(),
            config.secrets_cache_ttl,
            config.secrets_stale_grace,
        ));
        let mut seams = Seams::bare(config, secrets);
        if let Some(table) = &config.idempotency_table {
            seams.records = Arc::new(Dynamo::new(table.clone(), aws.clone()));
        }
        if let Some(table) = &config.rate_limit_table {
            seams.limiter = Arc::new(SharedLimit::new(
                table.clone(),
                aws.clone(),
                &config.limits(),
            ));
        }
        match &config.status_table {
            Some(StatusTable::Dynamo(table)) => {
                seams.statuses = Arc::new(DynamoStatuses::new(table.clone(), aws.clone()));
            }
            Some(StatusTable::Memory) => seams.statuses = Arc::new(MemoryStatuses::default()),
            None => {}
        }
        if let Some(bus) = &config.status_event_bus {
            seams.bus = Arc::new(EventBridgeBus::new(bus.clone(), aws.clone()));
        }
        seams
    }
}

impl App {
    pub fn new(config: Config) -> App {
        App::with_metrics(config, MetricsSink::Stdout)
    }

    /// The App of a deployment.
    pub fn with_metrics(config: Config, metrics: MetricsSink) -> App {
        let seams = Seams::of(&config);
        App::with_parts(config, metrics, seams)
    }

    /// An App on the given seams (unit tests use in-memory ones).
    pub fn with_parts(config: Config, metrics: MetricsSink, seams: Seams) -> App {
        let Seams {
            secrets,
            records,
            limiter,
            statuses,
            bus,
        } = seams;
        let tracker = StatusTracker::new(
            secrets.clone(),
            statuses,
            bus,
            config.status_ttl,
            config.webhook_max_age,
        );
        let statuses = Arc::new(tracker);
        App {
            sender: Sender::new(&config, secrets, records, limiter, statuses.clone()),
            statuses,
            config,
            metrics,
        }
    }
}
