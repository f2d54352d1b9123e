//! The send pipeline, the same for every entry point, every provider, and whether or not
//! the send has an idempotency key (docs/guarantees.md). `Sender::send` reads top to bottom:
//!
//! 1. **parse**: the request's own fields and its provider's part, into valid types;
//! 2. **admit**: the checks that need no claim (a dry run stops here);
//! 3. **key**: the key's record id and fingerprint, where there is a table and a key;
//! 4. **prepare** the first attempt: its secret, its wire request, its slot;
//! 5. **claim** the key (nothing to do without a table or a key);
//! 6. **attempts**: wait for the slot, mark the record sending, exchange, and the policies
//!    around one attempt (a key the provider refused and that was rotated since is tried
//!    once more); then the answer read by the provider's table;
//! 7. **settle**: what is stored for the key, and the sent message's status record.

use super::attempt::{Attempted, Prepared};
use super::claim::{record_id, Claim, KeyGuard, Keyed, Ticket};
use super::context::{Context, Invocation};
use super::deadline::{cutoff, Budget};
use super::outcome::{self, Answer, DryRun, Outcome, Sent};
use super::pacing::Pacing;
use super::request::SendRequest;
use super::settlement;
use crate::config::Config;
use crate::delivery::StatusTracker;
use crate::error::{ApiError, Code};
use crate::infra::idempotency::IdempotencyStore;
use crate::infra::pacing::RateLimiter;
use crate::infra::secrets::{Secret, Secrets};
use crate::infra::statuses::{sender_of, SentRecord};
use crate::infra::telemetry::Report;
use crate::providers::transport::{no_time_left, Transport, Window};
use crate::providers::{self, Provider, Settings};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;

/// Everything a send needs, built once per instance and shared by every invocation it
/// serves (and by concurrent invocations, under Lambda Managed Instances).
pub struct Sender {
    secrets: Arc<dyn Secrets>,
    /// The idempotency records (a stand-in that keeps none without `IDEMPOTENCY_TABLE`).
    records: Arc<dyn IdempotencyStore>,
    /// Where a sent message's record is kept for its statuses.
    statuses: Arc<StatusTracker>,
    pacing: Pacing,
    transport: Transport,
    /// Bounds the provider attempts in flight in the instance; held only while one runs.
    permits: Semaphore,
    providers: HashMap<&'static str, Settings>,
    default_provider: Option<&'static dyn Provider>,
    config: Rules,
    /// Done once, by the first send (`Sender::cold_start_work`).
    cold_start: OnceCell<()>,
}

/// The settings the pipeline's rules read.
struct Rules {
    min_attempt: Duration,
    ttl: Duration,
    unknown_ttl: Duration,
    /// Whether a claim also looks for a record of an earlier version under the bare key.
    legacy_lookup: bool,
}

impl Sender {
    pub fn new(
        config: &Config,
        secrets: Arc<dyn Secrets>,
        records: Arc<dyn IdempotencyStore>,
        limiter: Arc<dyn RateLimiter>,
        statuses: Arc<StatusTracker>,
    ) -> Sender {
        // A connection that cannot be made within half the least attempt time fails as a
        // connection, before the attempt's own timeout could (docs/guarantees.md, "Time").
        let connect = (config.min_attempt / 2).min(Duration::from_secs(3));
        Sender {
            secrets,
            records,
            statuses,
            pacing: Pacing::new(config.limits(), limiter),
            transport: Transport::new(config.provider_timeout, config.pool_idle_timeout, connect),
            permits: Semaphore::new(config.max_concurrency),
            providers: config.providers.clone(),
            default_provider: config.default_provider.and_then(providers::find),
            config: Rules {
                min_attempt: config.min_attempt,
                ttl: config.idempotency_ttl,
                unknown_ttl: config.idempotency_unknown_ttl,
                legacy_lookup: config.idempotency_legacy_lookup,
            },
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
        let fail = |error, report| Outcome::error(error, &invocation.request_id, report);
        if let Some(stop) = self.admit(&request, invocation).await {
            return outcome::answer(stop, invocation, report);
        }
        // Validation and admission came first: a request that cannot be sent writes no record.
        let keyed = match self.key(&request, context).await {
            Ok(keyed) => keyed,
            Err(error) => return fail(error, report),
        };
        let budget = self.budget(invocation, keyed.is_some());
        let first = match Box::pin(self.prepare(&request, None, budget, &mut report)).await {
            Ok(first) => first,
            Err(error) => return fail(error, report),
        };
        let mut ticket = match Box::pin(self.claim(keyed, &first, budget)).await {
            Ok(Claim::Fresh(ticket)) => ticket,
            Ok(Claim::Earlier(answer)) => {
                self.give_back(&first);
                return outcome::replayed(answer, &request, &invocation.request_id, report);
            }
            Err(error) => {
                self.give_back(&first);
                return fail(error, report);
            }
        };
        let result =
            Box::pin(self.attempts(&request, first, &mut ticket, budget, &mut report)).await;
        Box::pin(self.settle(&request, ticket, result, context, budget, report)).await
    }

    /// The checks that need no claim: a request that stops here answers with what it came to.
    async fn admit(
        &self,
        request: &SendRequest,
        invocation: &Invocation,
    ) -> Option<Result<Answer, ApiError>> {
        if request.dry_run() {
            return Some(self.dry_run(request, invocation).await);
        }
        None
    }

    /// What a dry run would send, built with the secret's defaults and without its key.
    async fn dry_run(
        &self,
        request: &SendRequest,
        invocation: &Invocation,
    ) -> Result<Answer, ApiError> {
        let provider = request.provider();
        let settings = self.settings(provider)?;
        // The secret is read only when the message needs what it holds (a default); the
        // answer never holds a credential.
        let secret = match request.message().needs_secret() {
            true => Some(self.secret(provider, invocation.deadline).await?),
            false => None,
        };
        let built = request.message().build(secret.as_ref(), settings)?;
        Ok(Answer::DryRun(DryRun {
            provider: provider.name(),
            to: request.to().e164().to_string(),
            request: built,
        }))
    }

    /// The key's record id and fingerprint: `None` without a table or a key, whose sends are
    /// at least once (docs/guarantees.md).
    async fn key(
        &self,
        request: &SendRequest,
        context: &Context<'_>,
    ) -> Result<Option<Keyed>, ApiError> {
        let (true, Some(key)) = (self.records.keeps(), request.idempotency_key()) else {
            return Ok(None);
        };
        let fingerprint_key = self
            .within_deadline(context.invocation.deadline, self.secrets.fingerprint_key())
            .await?;
        Ok(Some(Keyed {
            id: record_id(context.scope, key),
            fingerprint: request.fingerprint(&fingerprint_key),
            legacy_id: self.config.legacy_lookup.then(|| key.to_string()),
        }))
    }

    /// An attempt made ready: its secret (`secret`, or the provider's as cached), its wire
    /// request, and its slot, refused at once (429) when it would leave too little time.
    async fn prepare(
        &self,
        request: &SendRequest,
        secret: Option<Secret>,
        budget: Budget,
        report: &mut Report,
    ) -> Result<Prepared, ApiError> {
        let provider = request.provider();
        let settings = self.settings(provider)?;
        let secret = match secret {
            Some(secret) => secret,
            None => self.secret(provider, budget.deadline).await?,
        };
        let built = request.message().build(Some(&secret), settings)?;
        if Instant::now() > budget.latest_start() {
            // No time to finish an attempt, whatever the pacing: nothing is sent.
            return Err(no_time_left(provider.name()));
        }
        let key = request.message().pace_key(&secret);
        let slot = self
            .pacing
            .reserve(provider.name(), key, budget.latest_start())
            .await?;
        report.rate_limit_fallback |= slot.as_ref().is_some_and(|s| s.fell_back);
        Ok(Prepared {
            secret,
            built,
            slot,
        })
    }

    /// The key's record, `sending` when the first attempt starts at once, else `claimed`; or
    /// what an earlier record with the key decides. Without a key, nothing to claim.
    async fn claim(
        &self,
        keyed: Option<Keyed>,
        first: &Prepared,
        budget: Budget,
    ) -> Result<Claim, ApiError> {
        match keyed {
            None => Ok(Claim::Fresh(Ticket::Unkeyed)),
            Some(keyed) => self.keys().claim(keyed, first.starts_now(), budget).await,
        }
    }

    /// The first attempt, and the policies around one attempt; then the answer, read.
    async fn attempts(
        &self,
        request: &SendRequest,
        first: Prepared,
        ticket: &mut Ticket,
        budget: Budget,
        report: &mut Report,
    ) -> Result<Sent, ApiError> {
        let mut attempted = self.attempt(request, first, ticket, budget, report).await?;
        if let Some(rotated) = self.rotated(request, &attempted, budget, report).await? {
            attempted = self
                .attempt(request, rotated, ticket, budget, report)
                .await?;
        }
        attempted.interpret(request, report)
    }

    /// One attempt: its slot waited for, the record marked as sending just before the first
    /// byte (if that fails, nothing was sent), and the exchange.
    async fn attempt(
        &self,
        request: &SendRequest,
        mut prepared: Prepared,
        ticket: &mut Ticket,
        budget: Budget,
        report: &mut Report,
    ) -> Result<Attempted, ApiError> {
        let mut waited = prepared.wait().await;
        if let Some(missed) = prepared.slot.take_if(|reserved| reserved.slot.missed()) {
            // Woken too late for its slot (a process not scheduled in time): another one.
            let again = self.pacing.again(&missed, budget.latest_start()).await?;
            prepared.slot = Some(again);
            waited += prepared.wait().await;
        }
        if prepared.slot.is_some() {
            report.rate_limit_wait = Some(report.rate_limit_wait.unwrap_or_default() + waited);
        }
        Box::pin(self.keys().mark_sending(ticket, budget)).await?;
        let window = Window {
            end: budget.attempts_end(),
            latest_start: budget.latest_start(),
        };
        let Prepared { secret, built, .. } = prepared;
        let exchange = Box::pin(self.transport.exchange(
            request.provider(),
            secret.key(),
            &built,
            window,
            &self.permits,
        ))
        .await?;
        report.provider_latency =
            Some(report.provider_latency.unwrap_or_default() + exchange.latency);
        Ok(Attempted { exchange, secret })
    }

    /// A key the provider refused is fetched again and, if it changed (it was rotated), the
    /// attempt is prepared once more with it (paced again).
    async fn rotated(
        &self,
        request: &SendRequest,
        attempted: &Attempted,
        budget: Budget,
        report: &mut Report,
    ) -> Result<Option<Prepared>, ApiError> {
        let provider = request.provider();
        if !provider.key_refused(&attempted.exchange.answer) {
            return Ok(None);
        }
        let refresh =
            self.secrets
                .refresh(provider.name(), provider.key_field(), &attempted.secret);
        let Ok(fresh) = self.within_deadline(budget.deadline, refresh).await else {
            return Ok(None);
        };
        if fresh.key() == attempted.secret.key() {
            return Ok(None);
        }
        tracing::info!(
            provider = provider.name(),
            "provider refused the key; retrying with the rotated key"
        );
        self.prepare(request, Some(fresh), budget, report)
            .await
            .map(Some)
    }

    /// The outcome: for a key, stored (or the key freed) as `settlement` decides; for a
    /// message sent now, its status record.
    async fn settle(
        &self,
        request: &SendRequest,
        ticket: Ticket,
        result: Result<Sent, ApiError>,
        context: &Context<'_>,
        budget: Budget,
        mut report: Report,
    ) -> Outcome {
        let invocation = context.invocation;
        let (result, decision) = settlement::settle(result, ticket.held(), self.ttls());
        report.delivery_unknown = result
            .as_ref()
            .is_err_and(|e| e.code == Code::DeliveryUnknown);
        let outcome = outcome::answer(result.map(Answer::Sent), invocation, report);
        if ticket.held() {
            let kept = (outcome.http_status(), outcome.stored_document().to_string());
            Box::pin(self.keys().finish(ticket, decision, kept, budget)).await;
        }
        if let Ok(Answer::Sent(sent)) = &outcome.result {
            let record = SentRecord {
                provider: sent.provider.clone(),
                message_id: sent.message_id.clone(),
                to: request.to().masked(),
                client_reference: sent.client_reference.clone(),
                request_id: invocation.request_id.clone(),
                sent_at: crate::infra::epoch_secs(),
                sender: sender_of(context.scope),
            };
            Box::pin(
                self.statuses
                    .record_sent(&record, cutoff(invocation.deadline)),
            )
            .await;
        }
        outcome
    }

    fn give_back(&self, prepared: &Prepared) {
        if let Some(slot) = &prepared.slot {
            self.pacing.give_back(slot);
        }
    }

    fn keys(&self) -> KeyGuard<'_> {
        KeyGuard::new(
            self.records.as_ref(),
            self.config.ttl,
            self.config.unknown_ttl,
        )
    }

    fn ttls(&self) -> settlement::Ttls {
        settlement::Ttls {
            ttl: self.config.ttl,
            unknown_ttl: self.config.unknown_ttl,
        }
    }

    fn budget(&self, invocation: &Invocation, settles: bool) -> Budget {
        Budget {
            deadline: invocation.deadline,
            settles,
            min_attempt: self.config.min_attempt,
        }
    }

    fn settings(&self, provider: &dyn Provider) -> Result<&Settings, ApiError> {
        self.providers
            .get(provider.name())
            .ok_or_else(ApiError::internal)
    }

    async fn secret(&self, provider: &dyn Provider, deadline: Instant) -> Result<Secret, ApiError> {
        let work = self.secrets.secret(provider.name(), provider.key_field());
        self.within_deadline(deadline, work).await
    }

    /// A read of the secrets, within the invocation's time.
    async fn within_deadline<T>(
        &self,
        deadline: Instant,
        work: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        crate::infra::secrets::in_time(cutoff(deadline), work).await
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
