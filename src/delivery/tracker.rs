//! One webhook POST, verified then published (docs/statuses.md): the provider's proof is
//! checked on the raw bytes before anything of the body is read; every status becomes one
//! event; with the table, only statuses that move their message forward are published, by
//! a conditional write each, and the POST is answered 200 only once every event is on the
//! bus (and stored).

use super::event::{detail, event_id, template_detail, template_event_id, template_move};
use super::publish::publish;
use crate::domain::status::{Notifications, TemplateUpdate};
use crate::error::{ApiError, Code};
use crate::infra::epoch_ms;
use crate::infra::events::{BusEvent, EventBus};
use crate::infra::secrets::{Secret, Secrets};
use crate::infra::statuses::{MessageStatus, SentRecord, StatusStore};
use crate::providers::{Provider, Redact, WebhookRequest};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Writes of different messages (forward moves, `pending` cleared) this many at a time.
pub(super) const CONCURRENT_WRITES: usize = 16;

/// How long refused entries are retried: a provider waits for its answer (Meta asks for a
/// median under 250 ms), and delivers the webhook again after a 503.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(2);

pub struct StatusTracker {
    secrets: Arc<dyn Secrets>,
    /// The status records (a stand-in that keeps none without `STATUS_TABLE`).
    store: Arc<dyn StatusStore>,
    /// The status bus (a stand-in without `STATUS_EVENT_BUS`: no webhook is received).
    bus: Arc<dyn EventBus>,
    pub(super) ttl: Duration,
    /// A status older than this (by its own time) changes nothing (`WEBHOOK_MAX_AGE_SECONDS`).
    max_age: Duration,
}

/// What a verified POST came to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Received {
    pub statuses: usize,
    pub published: usize,
    pub duplicates: usize,
    pub others: usize,
    pub unreadable: Vec<String>,
    /// Each status's word, for the `StatusReceived` metric.
    pub stages: Vec<&'static str>,
    /// Statuses older than `WEBHOOK_MAX_AGE_SECONDS`: neither stored nor published.
    pub stale: usize,
}

impl StatusTracker {
    pub fn new(
        secrets: Arc<dyn Secrets>,
        store: Arc<dyn StatusStore>,
        bus: Arc<dyn EventBus>,
        ttl: Duration,
        max_age: Duration,
    ) -> Self {
        StatusTracker {
            secrets,
            store,
            bus,
            ttl,
            max_age,
        }
    }

    /// The provider's secret, which holds its webhook's proof; without it nothing can be
    /// verified (401), and an unreachable Secrets Manager is a 503 the provider retries.
    async fn secret(&self, provider: &dyn Provider, until: Instant) -> Result<Secret, ApiError> {
        let read = crate::infra::secrets::in_time(
            until,
            self.secrets.webhook(provider.name(), provider.key_field()),
        )
        .await;
        read.map_err(|error| match error.code {
            Code::SecretUnavailable => error,
            _ => refused(provider, "the provider's secret cannot be read"),
        })
    }

    /// Meta's `GET` handshake: the challenge to echo, or why not (403); `None` for a
    /// provider without one; an unreachable Secrets Manager is a 503 Meta retries.
    pub async fn handshake(
        &self,
        provider: &dyn Provider,
        request: &WebhookRequest<'_>,
        until: Instant,
    ) -> Result<Option<Result<String, &'static str>>, ApiError> {
        let Some(webhook) = provider.webhook() else {
            return Ok(None);
        };
        let secret = match self.secret(provider, until).await {
            Ok(secret) => secret,
            Err(error) if error.code == Code::SecretUnavailable => return Err(error),
            Err(_) => return Ok(Some(Err("the provider's secret cannot be read"))),
        };
        Ok(webhook.handshake(request, &secret))
    }

    /// A webhook POST: verified, read, stored and published.
    pub async fn receive(
        &self,
        provider: &dyn Provider,
        request: &WebhookRequest<'_>,
        until: Instant,
    ) -> Result<Received, ApiError> {
        let (Some(webhook), true) = (provider.webhook(), self.bus.exists()) else {
            return Err(ApiError::internal());
        };
        let secret = self.secret(provider, until).await?;
        webhook
            .verify(request, &secret)
            .map_err(|reason| refused(provider, reason))?;
        // Verified: only now is anything of the body read.
        let Notifications {
            statuses,
            templates,
            others,
            unreadable,
        } = webhook.notifications(request.body, &Redact::none());
        let received_at = epoch_ms();
        let count = statuses.len();
        // A status older than the provider's retries (a signed webhook replayed weeks later)
        // changes nothing: its record may have expired, and it would start a new one.
        let oldest = (received_at / 1000).saturating_sub(self.max_age.as_secs());
        let (statuses, stale): (Vec<_>, Vec<_>) = statuses
            .into_iter()
            .partition(|s| s.occurred_at.is_none_or(|at| at >= oldest));
        let mut received = Received {
            statuses: count,
            others,
            unreadable,
            stages: statuses.iter().map(|s| s.stage.as_str()).collect(),
            stale: stale.len(),
            ..Received::default()
        };
        let name = provider.name();
        let mut ids: Vec<String> = statuses.iter().map(|s| event_id(name, s)).collect();
        let mut events: Vec<Option<&TemplateUpdate>> = vec![None; statuses.len()];
        // Template notifications go the same way as statuses, each a record of its own.
        let mut statuses = statuses;
        for update in &templates {
            let id = template_event_id(update);
            statuses.push(template_move(update, &id));
            ids.push(id);
            events.push(Some(update));
        }
        // Which statuses to publish, and with which client_reference.
        let chosen: Vec<(usize, Option<String>)> = match self.store.keeps() {
            false => (0..statuses.len()).map(|i| (i, None)).collect(),
            true => {
                let moved = self
                    .advance(
                        self.store.as_ref(),
                        name,
                        &statuses,
                        &ids,
                        received_at,
                        until,
                    )
                    .await?;
                for _ in 0..moved.panicked {
                    received
                        .unreadable
                        .push("handling the status panicked".into());
                }
                received.duplicates = statuses.len() - moved.publish.len() - moved.panicked;
                moved.publish
            }
        };
        let details: Vec<BusEvent> = chosen
            .iter()
            .map(|(i, reference)| match events[*i] {
                Some(update) => BusEvent::template(
                    template_detail(name, update, &ids[*i], received_at).to_string(),
                ),
                None => BusEvent::status(
                    detail(
                        name,
                        &statuses[*i],
                        &ids[*i],
                        received_at,
                        reference.as_deref(),
                    )
                    .to_string(),
                ),
            })
            .collect();
        let patience = Instant::now()
            .checked_add(PUBLISH_PATIENCE)
            .map_or(until, |t| t.min(until));
        let put = publish(self.bus.as_ref(), &details, patience).await;
        received.published = put.iter().filter(|p| **p).count();
        if self.store.keeps() {
            let store = &self.store;
            // Best effort: an event left pending is published again when its status comes back.
            let marks: Vec<_> = chosen
                .iter()
                .zip(&put)
                .filter(|(_, ok)| **ok)
                .map(|((i, _), _)| store.published(name, &statuses[*i].message_id, &ids[*i]))
                .collect();
            // As many at a time as the forward moves: a hundred at once would open a hundred
            // connections (and TLS handshakes) on a cold instance.
            let _ = crate::infra::bounded(until, (), async {
                futures_util::stream::iter(marks)
                    .buffer_unordered(CONCURRENT_WRITES)
                    .collect::<Vec<_>>()
                    .await;
                Ok(())
            })
            .await;
        }
        if received.published < chosen.len() {
            return Err(ApiError::new(
                Code::StatusUnavailable,
                format!(
                    "{} of {} status events could not be published; deliver the webhook again",
                    chosen.len() - received.published,
                    chosen.len()
                ),
            )
            .with_provider(name));
        }
        Ok(received)
    }

    /// Keeps a sent message's record, for its statuses and the status route.
    pub async fn record_sent(&self, record: &SentRecord, until: Instant) {
        // Without a table there is nothing to keep: no call on a send's path.
        if !self.store.keeps() {
            return;
        }
        let store = &self.store;
        let expires_at = record.sent_at + self.ttl.as_secs();
        let late = crate::infra::statuses::timeout();
        if let Err(error) =
            crate::infra::bounded(until, late, store.record_sent(record, expires_at)).await
        {
            tracing::warn!(error = %error, "the sent message's status record was not stored: its statuses carry no client_reference");
        }
    }

    /// A message's record, when the table is kept.
    pub async fn status(
        &self,
        provider: &str,
        message_id: &str,
        until: Instant,
    ) -> Result<Option<MessageStatus>, ApiError> {
        let store = &self.store;
        crate::infra::bounded(
            until,
            crate::infra::statuses::timeout(),
            store.get(provider, message_id),
        )
        .await
        .map_err(|error| {
            ApiError::new(
                Code::StatusUnavailable,
                format!("the status table {}", error.reason),
            )
        })
    }

    pub fn keeps_records(&self) -> bool {
        self.store.keeps()
    }

    /// Whether `provider`'s webhook is received here: it documents one we can verify, and
    /// there is a bus to publish on.
    pub fn receives(&self, provider: &dyn Provider) -> bool {
        self.bus.exists() && provider.webhook().is_some()
    }
}

fn refused(provider: &dyn Provider, reason: &'static str) -> ApiError {
    tracing::warn!(provider = provider.name(), reason, "webhook refused");
    ApiError::new(
        Code::WebhookUnauthorized,
        "the webhook does not carry the provider's valid proof",
    )
    .with_provider(provider.name())
}
