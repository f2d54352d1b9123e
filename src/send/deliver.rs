//! Delivering one send: its secret and wire request, its pacing slot (reserved first, so
//! that a slot that would leave too little time is refused at once), and the exchange with
//! the provider, including one retry with a rotated key (docs/guarantees.md, "Retries").

use super::context::Invocation;
use super::deadline::Budget;
use super::outcome::{Answer, DryRun, Sent};
use super::pacing::{Pacer, Slot};
use super::request::SendRequest;
use super::Sender;
use crate::error::{ApiError, Code};
use crate::infra::secrets::Secret;
use crate::infra::telemetry::Report;
use crate::providers::transport::{no_time_left, Window, MAX_RETRY_AFTER};
use crate::providers::{Provider, ProviderRequest, Redact, Settings};
use tokio::time::Instant;

/// A send ready to go: its secret, its wire request and its reserved slot.
pub(super) struct Prepared<'a> {
    secret: Secret,
    built: ProviderRequest,
    slot: Option<(&'a Pacer, Slot)>,
}

impl Prepared<'_> {
    /// Whether the send may start at once (no pacing wait).
    pub fn starts_now(&self) -> bool {
        self.slot
            .as_ref()
            .is_none_or(|(_, slot)| slot.at <= Instant::now())
    }

    pub async fn wait(&self) {
        if let Some((_, slot)) = &self.slot {
            slot.wait().await;
        }
    }

    /// The send will not happen: its slot is free for the next one.
    pub fn give_back(&self) {
        if let Some((pacer, slot)) = &self.slot {
            pacer.give_back(slot);
        }
    }
}

impl Sender {
    /// A send without a record to settle: prepare, wait for the slot, exchange.
    pub(super) async fn deliver(
        &self,
        request: &SendRequest,
        budget: Budget,
        report: &mut Report,
    ) -> Result<Sent, ApiError> {
        let prepared = self.prepare(request, budget).await?;
        prepared.wait().await;
        self.exchange(request, prepared, budget, report).await
    }

    pub(super) async fn dry_run(
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

    pub(super) async fn prepare(
        &self,
        request: &SendRequest,
        budget: Budget,
    ) -> Result<Prepared<'_>, ApiError> {
        let provider = request.provider();
        let settings = self.settings(provider)?;
        let secret = self.secret(provider, budget.deadline).await?;
        let built = request.message().build(Some(&secret), settings)?;
        let slot = self.reserve(request, &secret, budget)?;
        Ok(Prepared {
            secret,
            built,
            slot,
        })
    }

    /// This send's pacing slot, when its provider is paced: refused at once (429, with when
    /// the next slot comes free) when it would leave less than `MIN_ATTEMPT_MS` to finish.
    fn reserve(
        &self,
        request: &SendRequest,
        secret: &Secret,
        budget: Budget,
    ) -> Result<Option<(&Pacer, Slot)>, ApiError> {
        let provider = request.provider();
        if Instant::now() > budget.latest_start() {
            // No time to finish an attempt, whatever the pacing: nothing is sent.
            return Err(no_time_left(provider.name()));
        }
        let Some(pacer) = self.pacers.get(provider.name()) else {
            return Ok(None);
        };
        let Some(key) = request.message().pace_key(secret) else {
            return Ok(None);
        };
        match pacer.reserve(&key, budget.latest_start()) {
            Ok(slot) => Ok(Some((pacer, slot))),
            Err(refused) => Err(ApiError::new(
                Code::RateLimited,
                "the send could not be paced within the time left; nothing was sent",
            )
            .with_provider(provider.name())
            .with_retry_after(Some(refused.0))),
        }
    }

    /// The provider's answer to the prepared request, read by the provider's table. A key the
    /// provider refuses is fetched again and, if it changed, tried once more (paced again).
    pub(super) async fn exchange(
        &self,
        request: &SendRequest,
        prepared: Prepared<'_>,
        budget: Budget,
        report: &mut Report,
    ) -> Result<Sent, ApiError> {
        let provider = request.provider();
        let window = Window {
            end: budget.attempts_end(),
            latest_start: budget.latest_start(),
        };
        let Prepared {
            mut secret, built, ..
        } = prepared;
        let (key, permits) = (secret.key().clone(), &self.permits);
        let mut exchange = Box::pin(
            self.transport
                .exchange(provider, &key, &built, window, permits),
        )
        .await?;
        let mut provider_time = exchange.latency;
        if provider.key_refused(&exchange.answer) {
            if let Ok(fresh) = self.refresh(provider, &secret, budget.deadline).await {
                if fresh.key() != secret.key() {
                    tracing::info!(
                        provider = provider.name(),
                        "provider refused the key; retrying with the rotated key"
                    );
                    secret = fresh;
                    let built = request
                        .message()
                        .build(Some(&secret), self.settings(provider)?)?;
                    if let Some((_, slot)) = self.reserve(request, &secret, budget)? {
                        slot.wait().await;
                    }
                    exchange = Box::pin(self.transport.exchange(
                        provider,
                        secret.key(),
                        &built,
                        window,
                        permits,
                    ))
                    .await?;
                    provider_time += exchange.latency;
                }
            }
        }
        report.provider_status = Some(exchange.answer.status);
        report.provider_latency = Some(provider_time);
        let redact = Redact::new(secret.key().expose(), request.personal_values());
        let accepted = provider
            .interpret(&exchange.answer, &redact)
            .map_err(|mut error| {
                // `Retry-After` only when known: the provider's header, or its documented wait.
                if error.code == Code::RateLimited {
                    let header = exchange.retry_after.map(|w| w.min(MAX_RETRY_AFTER));
                    let said = error.retry_after;
                    error = error.with_retry_after(header);
                    error.retry_after = error.retry_after.max(said);
                }
                error
            })?;
        Ok(Sent {
            provider: provider.name().to_string(),
            status: accepted.status,
            message_id: accepted.message_id,
            to: request.to().e164().to_string(),
            client_reference: request.client_reference().map(str::to_string),
            provider_details: accepted.details,
        })
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

    async fn refresh(
        &self,
        provider: &dyn Provider,
        rejected: &Secret,
        deadline: Instant,
    ) -> Result<Secret, ApiError> {
        let work = self
            .secrets
            .refresh(provider.name(), provider.key_field(), rejected);
        self.within_deadline(deadline, work).await
    }

    /// A read of the secrets, within the invocation's time.
    pub(super) async fn within_deadline<T>(
        &self,
        deadline: Instant,
        work: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        crate::infra::secrets::in_time(super::deadline::cutoff(deadline), work).await
    }
}
