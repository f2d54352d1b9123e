//! Everything built once per instance and shared by every invocation (and by concurrent
//! invocations, under Lambda Managed Instances): the send pipeline with its seams (the
//! secrets and the idempotency store, as traits), and the metrics. Nothing here does I/O
//! until first used.

use crate::config::{Config, StatusTable};
use crate::delivery::StatusTracker;
use crate::infra::aws::Aws;
use crate::infra::events::{EventBridgeBus, EventBus};
use crate::infra::idempotency::{Dynamo, IdempotencyStore};
use crate::infra::metrics::MetricsSink;
use crate::infra::secrets::{SecretStore, Secrets, Source};
use crate::infra::statuses::{DynamoStatuses, MemoryStatuses, StatusStore};
use crate::send::Sender;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub sender: Sender,
    /// Delivery statuses: webhooks received, messages' records kept.
    pub statuses: Arc<StatusTracker>,
    pub metrics: MetricsSink,
}

impl App {
    pub fn new(config: Config) -> App {
        App::with_metrics(config, MetricsSink::Stdout)
    }

    /// The App of a deployment: Secrets Manager (or the local file) and DynamoDB.
    pub fn with_metrics(config: Config, metrics: MetricsSink) -> App {
        let aws = Arc::new(Aws::new(config.aws_endpoint_url.clone()));
        let source = match &config.secrets_file {
            Some(path) => Source::File(path.clone()),
            None => Source::secrets_manager(aws.clone()),
        };
        let secrets: Arc<dyn Secrets> = Arc::new(SecretStore::new(
            source,
            config.secret_refs.clone(),
            config.fingerprint_secret.clone(),
            config.secrets_cache_ttl,
            config.secrets_stale_grace,
        ));
        let store = config
            .idempotency_table
            .clone()
            .map(|table| Arc::new(Dynamo::new(table, aws.clone())) as Arc<dyn IdempotencyStore>);
        let statuses: Option<Arc<dyn StatusStore>> = match &config.status_table {
            Some(StatusTable::Dynamo(table)) => {
                Some(Arc::new(DynamoStatuses::new(table.clone(), aws.clone())))
            }
            Some(StatusTable::Memory) => Some(Arc::new(MemoryStatuses::default())),
            None => None,
        };
        let bus = config
            .status_event_bus
            .clone()
            .map(|bus| Arc::new(EventBridgeBus::new(bus, aws.clone())) as Arc<dyn EventBus>);
        let tracker = StatusTracker::new(secrets.clone(), statuses, bus, config.status_ttl);
        App::with_parts(config, metrics, secrets, store, tracker)
    }

    /// An App on the given seams (unit tests use in-memory ones).
    pub fn with_parts(
        config: Config,
        metrics: MetricsSink,
        secrets: Arc<dyn Secrets>,
        store: Option<Arc<dyn IdempotencyStore>>,
        statuses: StatusTracker,
    ) -> App {
        let statuses = Arc::new(statuses);
        App {
            sender: Sender::new(&config, secrets, store, statuses.clone()),
            statuses,
            config,
            metrics,
        }
    }
}
