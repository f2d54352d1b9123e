//! The send pipeline, the same for every entry point and every provider (docs/guarantees.md):
//! parse → dry run | (claim →) deliver → settle. Entry points only decode their envelope,
//! say who asked, and render the `Outcome`.
//!
//! - `request`: the send request parsed into valid types (its provider's part by the provider);
//! - `deliver`: the secret, the provider's request, its pacing slot, and the exchange;
//! - `claim`: what an idempotency key's record says, and the record moved along;
//! - `settlement`: which outcomes are stored, and when a failure becomes `DELIVERY_UNKNOWN`.

mod claim;
mod context;
pub mod deadline;
mod deliver;
mod lease;
pub mod outcome;
pub mod pacing;
pub mod request;
mod settlement;
#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::delivery::StatusTracker;
use crate::error::Code;
use crate::infra::idempotency::IdempotencyStore;
use crate::infra::secrets::Secrets;
use crate::infra::statuses::SentRecord;
use crate::infra::telemetry::Report;
use crate::providers::transport::Transport;
use crate::providers::{self, Provider, Settings};
pub use claim::record_id;
use claim::{Claim, KeyGuard};
pub use context::{Context, Invocation};
use deadline::Budget;
use outcome::{Answer, Outcome};
use pacing::Pacer;
use request::SendRequest;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore};

/// Everything a send needs, built once per instance and shared by every invocation it
/// serves (and by concurrent invocations, under Lambda Managed Instances).
pub struct Sender {
    secrets: Arc<dyn Secrets>,
    /// `None` without `IDEMPOTENCY_TABLE`: keys are then accepted and ignored.
    store: Option<Arc<dyn IdempotencyStore>>,
    transport: Transport,
    /// One pacer per provider that has a rate, shared by all its sends.
    pacers: HashMap<&'static str, Pacer>,
    /// Bounds the provider attempts in flight in the instance; held only while one runs.
    permits: Semaphore,
    providers: HashMap<&'static str, Settings>,
    default_provider: Option<&'static dyn Provider>,
    min_attempt: Duration,
    ttl: Duration,
    unknown_ttl: Duration,
    /// Whether a claim also looks for a record of an earlier version under the bare key.
    legacy_lookup: bool,
    /// Where a sent message's record is kept for its statuses.
    statuses: Arc<StatusTracker>,
    /// Done once, by the first send (`Sender::cold_start_work`).
    cold_start: OnceCell<()>,
}

impl Sender {
    pub fn new(
        config: &Config,
        secrets: Arc<dyn Secrets>,
        store: Option<Arc<dyn IdempotencyStore>>,
        statuses: Arc<StatusTracker>,
    ) -> Sender {
        let pacers = config
            .providers
            .iter()
            .filter_map(|(name, settings)| Some((*name, Pacer::new(settings.max_rps?))))
            .collect();
        // A connection that cannot be made within half the least attempt time fails as a
        // connection, before the attempt's own timeout could (docs/guarantees.md, "Time").
        let connect = (config.min_attempt / 2).min(Duration::from_secs(3));
        Sender {
            secrets,
            store,
            transport: Transport::new(config.provider_timeout, config.pool_idle_timeout, connect),
            pacers,
            permits: Semaphore::new(config.max_concurrency),
            providers: config.providers.clone(),
            default_provider: config.default_provider.and_then(providers::find),
            min_attempt: config.min_attempt,
            ttl: config.idempotency_ttl,
            unknown_ttl: config.idempotency_unknown_ttl,
            legacy_lookup: config.idempotency_legacy_lookup,
            statuses,
            cold_start: OnceCell::new(),
        }
    }

    /// Sends one request given as JSON text (the text, so that numbers are sent as written).
    pub async fn send(&self, text: &str, context: &Context<'_>) -> Outcome {
        self.cold_start.get_or_init(|| self.cold_start_work()).await;
        let invocation = context.invocation;
        let request = match SendRequest::parse(text, self.default_provider, context.default_key) {
            Ok(request) => request,
            Err(error) => {
                // Read from the text, as far as it can be: the request is not valid.
                let report = Report::for_text(text, context.caller);
                return Outcome::error(error, &invocation.request_id, report);
            }
        };
        let mut report = Report::of(request.client_reference(), context.caller);
        report.provider = Some(request.provider().name().to_string());
        report.to_masked = Some(request.to().masked());
        if request.dry_run() {
            let result = self.dry_run(&request, invocation).await;
            return outcome::answer(result, invocation, report);
        }
        // Validation came first: a request that cannot be sent writes no record.
        let outcome = match (&self.store, request.idempotency_key()) {
            (Some(store), Some(key)) => {
                Box::pin(self.guarded(store.as_ref(), &request, key, context, report)).await
            }
            _ => {
                let budget = self.budget(invocation, false);
                let result = Box::pin(self.deliver(&request, budget, &mut report)).await;
                outcome::answer(result.map(Answer::Sent), invocation, report)
            }
        };
        if let (Ok(Answer::Sent(sent)), false) = (&outcome.result, outcome.replay) {
            let record = SentRecord {
                provider: sent.provider.clone(),
                message_id: sent.message_id.clone(),
                to: request.to().masked(),
                client_reference: sent.client_reference.clone(),
                request_id: invocation.request_id.clone(),
                sent_at: crate::infra::epoch_secs(),
            };
            Box::pin(
                self.statuses
                    .record_sent(&record, deadline::cutoff(invocation.deadline)),
            )
            .await;
        }
        outcome
    }

    /// A keyed send with a table: at most once per key (docs/guarantees.md).
    async fn guarded(
        &self,
        store: &dyn IdempotencyStore,
        request: &SendRequest,
        key: &str,
        context: &Context<'_>,
        mut report: Report,
    ) -> Outcome {
        let invocation = context.invocation;
        let budget = self.budget(invocation, true);
        let guard = KeyGuard::new(store, self.ttl, self.unknown_ttl);
        let fail = |error, report| Outcome::error(error, &invocation.request_id, report);
        let fingerprint_key = match self
            .within_deadline(invocation.deadline, self.secrets.fingerprint_key())
            .await
        {
            Ok(key) => key,
            Err(error) => return fail(error, report),
        };
        let prepared = match Box::pin(self.prepare(request, budget)).await {
            Ok(prepared) => prepared,
            Err(error) => return fail(error, report),
        };
        let id = claim::record_id(context.scope, key);
        let fingerprint = request.fingerprint(&fingerprint_key);
        // A send that may start at once is marked as sending by its claim; one that waits
        // for its slot is claimed first, so that a repeat meanwhile is told it is in flight.
        let legacy = self.legacy_lookup.then_some(key);
        let claimed =
            Box::pin(guard.claim(&id, &fingerprint, prepared.starts_now(), legacy, budget)).await;
        let mut ticket = match claimed {
            Ok(Claim::Fresh(ticket)) => ticket,
            Ok(Claim::Earlier(answer)) => {
                prepared.give_back();
                return outcome::replayed(answer, request, &invocation.request_id, report);
            }
            Err(error) => {
                prepared.give_back();
                return fail(error, report);
            }
        };
        let result = async {
            prepared.wait().await;
            Box::pin(guard.mark_sending(&mut ticket, budget)).await?;
            Box::pin(self.exchange(request, prepared, budget, &mut report)).await
        }
        .await;
        let (result, decision) = settlement::settle(result, self.ttl, self.unknown_ttl);
        if result
            .as_ref()
            .is_err_and(|e| e.code == Code::DeliveryUnknown)
        {
            report.delivery_unknown = true;
        }
        let outcome = outcome::answer(result.map(Answer::Sent), invocation, report);
        let kept = (outcome.http_status(), outcome.stored_document().to_string());
        Box::pin(guard.finish(ticket, decision, kept, budget)).await;
        outcome
    }

    fn budget(&self, invocation: &Invocation, settles: bool) -> Budget {
        Budget {
            deadline: invocation.deadline,
            settles,
            min_attempt: self.min_attempt,
        }
    }

    /// The first send of an instance needs the phone metadata decoded and the AWS client
    /// built: a few ms of CPU each, done side by side where there is more than one core. The
    /// client build reads the environment and makes no network call, so nothing here reads
    /// a secret before the request is validated.
    async fn cold_start_work(&self) {
        let metadata = tokio::task::spawn_blocking(crate::domain::phone::preload);
        self.secrets.prepare().await;
        let _ = metadata.await;
    }
}
