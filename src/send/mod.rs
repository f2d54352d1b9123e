//! The send use case, the same for every entry point and every provider: validate →
//! idempotency claim → secret → provider → one outcome (kept for replays when it is final).
//! Entry points only decode their envelope and render the outcome.

use crate::app::App;
use crate::deadline::{bounded, cutoff};
use crate::error::{ApiError, Code};
use crate::idempotency::Claim;
use crate::outcome::{Answer, DryRun, Outcome, Sent};
use crate::providers::transport::{Exchange, MAX_RETRY_AFTER};
use crate::providers::{Provider, ProviderRequest, Redact};
use crate::request::SendRequest;
use crate::secrets::Secret;
use crate::telemetry::Report;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// One invocation's identity and time limit.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub request_id: String,
    pub deadline: Instant,
}

impl Invocation {
    pub fn new(request_id: impl Into<String>, time_left: Duration) -> Self {
        // No Lambda invocation lasts longer than this; a larger time left is not believed.
        const LONGEST: Duration = Duration::from_secs(15 * 60);
        Invocation {
            request_id: request_id.into(),
            deadline: Instant::now() + time_left.min(LONGEST),
        }
    }

    /// The same invocation under another request id (the caller's `X-Request-Id`).
    pub fn with_id(&self, request_id: &str) -> Invocation {
        Invocation {
            request_id: request_id.to_string(),
            deadline: self.deadline,
        }
    }
}

impl App {
    /// Sends one request given as JSON text (the text, so that numbers are sent as
    /// written). `header_key` is an `Idempotency-Key` header.
    pub async fn send(
        &self,
        text: &str,
        header_key: Option<&str>,
        invocation: &Invocation,
    ) -> Outcome {
        self.cold_start.get_or_init(|| self.cold_start_work()).await;
        let body = match serde_json::from_str::<Value>(text) {
            Ok(body) => body,
            Err(e) => {
                let error = ApiError::new(
                    Code::InvalidRequest,
                    format!("the body is not valid JSON: {e}"),
                );
                return Outcome::error(error, &invocation.request_id, Report::default());
            }
        };
        let mut report = Report {
            client_reference: body
                .get("client_reference")
                .and_then(Value::as_str)
                .map(|s| crate::telemetry::clean(s, 256)),
            ..Report::default()
        };
        let parsed = SendRequest::parse_document(&body, text, self.default_provider(), header_key);
        let request = match parsed {
            Ok(request) => request,
            Err(error) => return Outcome::error(error, &invocation.request_id, report),
        };
        report.provider = Some(request.provider().name().to_string());
        report.to_masked = Some(request.to().masked());
        if request.dry_run() {
            let result = self.dry_run(&request, invocation).await;
            return answer(result, false, invocation, report);
        }
        // Validation came first: a request that cannot be sent writes no record.
        let guarded = match (&self.idempotency, request.idempotency_key()) {
            // Boxed, as the other AWS and provider work below: the SDK's futures are large, and
            // on the stack they would overflow a thread's stack in debug builds.
            (Some(guard), Some(key)) => {
                let fingerprint = request.fingerprint();
                let claim = Box::pin(guard.claim(key, &fingerprint, invocation.deadline));
                match claim.await {
                    Ok(Claim::Fresh(ticket)) => Some((guard, ticket)),
                    Ok(Claim::Replay {
                        http_status,
                        document,
                    }) => {
                        return Outcome::replayed(http_status, &document, report.clone())
                            .unwrap_or_else(|| {
                                let error = ApiError::new(
                                    Code::IdempotencyUnavailable,
                                    "the stored answer for this idempotency key is unreadable",
                                );
                                Outcome::error(error, &invocation.request_id, report)
                            })
                    }
                    Err(error) => return Outcome::error(error, &invocation.request_id, report),
                }
            }
            _ => None,
        };
        let mut result = Box::pin(self.deliver(&request, invocation, &mut report)).await;
        if guarded.is_some() {
            // Under a key, a send that may have happened is final: no retry may send again.
            result = result.map_err(|e| {
                if e.maybe_sent {
                    e.into_delivery_unknown()
                } else {
                    e
                }
            });
        }
        // Only final answers are kept (contract section 7): a success, the provider's own
        // refusal that is not retryable, or an unknown outcome. A retryable refusal, or a
        // failure of ours before anything was sent (secrets, configuration, no send slot),
        // frees the key for the retry.
        let is_final = result
            .as_ref()
            .err()
            .is_none_or(|e| e.maybe_sent || (!e.is_retryable() && e.provider_status.is_some()));
        let outcome = answer(result.map(Answer::Sent), true, invocation, report);
        if let Some((guard, ticket)) = guarded {
            let document = outcome.document();
            Box::pin(guard.finish(
                ticket,
                outcome.http_status(),
                &document,
                is_final,
                invocation.deadline,
            ))
            .await;
        }
        outcome
    }

    /// The first send of an instance needs the phone metadata decoded and the AWS client
    /// built: a few ms of CPU each, done side by side where there is more than one core. The
    /// client build reads the environment and makes no network call, so nothing here reads
    /// a secret before the request is validated.
    async fn cold_start_work(&self) {
        let metadata = tokio::task::spawn_blocking(crate::phone::preload);
        self.secrets.prepare().await;
        let _ = metadata.await;
    }

    async fn dry_run(
        &self,
        request: &SendRequest,
        invocation: &Invocation,
    ) -> Result<Answer, ApiError> {
        let provider = request.provider();
        let settings = self.settings(provider).ok_or_else(ApiError::internal)?;
        // The secret is read only when the message needs what it holds (a default); the
        // answer never holds a credential.
        let secret = match request.message().needs_secret() {
            true => Some(self.secret(provider, invocation).await?),
            false => None,
        };
        let built = request.message().build(secret.as_ref(), settings)?;
        Ok(Answer::DryRun(DryRun {
            provider: provider.name(),
            to: request.to().e164().to_string(),
            request: built,
        }))
    }

    async fn deliver(
        &self,
        request: &SendRequest,
        invocation: &Invocation,
        report: &mut Report,
    ) -> Result<Sent, ApiError> {
        let _permit = tokio::time::timeout_at(cutoff(invocation.deadline), self.permits.acquire())
            .await
            .map_err(|_| {
                ApiError::new(
                    Code::ProviderTimeout,
                    "no send slot came free in time; nothing was sent",
                )
            })?
            .map_err(|_| ApiError::internal())?;
        let provider = request.provider();
        let settings = self.settings(provider).ok_or_else(ApiError::internal)?;
        let mut secret = self.secret(provider, invocation).await?;
        let mut built = request.message().build(Some(&secret), settings)?;
        let mut exchange = self.exchange(request, &secret, &built, invocation).await?;
        let mut provider_time = exchange.latency;
        if provider.key_refused(&exchange.answer) {
            // The key may have been rotated: fetch it again, and try once more only if it changed.
            if let Ok(fresh) = self.refresh(provider, &secret, invocation).await {
                if fresh.key() != secret.key() {
                    tracing::info!(
                        provider = provider.name(),
                        "provider refused the key; retrying with the rotated key"
                    );
                    secret = fresh;
                    built = request.message().build(Some(&secret), settings)?;
                    exchange = self.exchange(request, &secret, &built, invocation).await?;
                    provider_time += exchange.latency;
                }
            }
        }
        report.provider_status = Some(exchange.answer.status);
        report.provider_latency = Some(provider_time);
        let redact = Redact::new(secret.key().expose(), request.personal_values());
        let accepted = provider
            .interpret(&exchange.answer, &redact)
            .map_err(|error| {
                // `Retry-After` only when the provider gave one (contract section 4).
                if error.code == Code::RateLimited {
                    error.with_retry_after(exchange.retry_after.map(|w| w.min(MAX_RETRY_AFTER)))
                } else {
                    error
                }
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

    async fn exchange(
        &self,
        request: &SendRequest,
        secret: &Secret,
        built: &ProviderRequest,
        invocation: &Invocation,
    ) -> Result<Exchange, ApiError> {
        let provider = request.provider();
        let pace_key = request.message().pace_key(secret);
        let pacing = self.pacers.get(provider.name()).zip(pace_key.as_deref());
        self.transport
            .exchange(provider, secret.key(), built, invocation.deadline, pacing)
            .await
    }

    async fn secret(
        &self,
        provider: &dyn Provider,
        invocation: &Invocation,
    ) -> Result<Secret, ApiError> {
        let work = self.secrets.secret(provider.name(), provider.key_field());
        within_budget(invocation, work).await
    }

    async fn refresh(
        &self,
        provider: &dyn Provider,
        rejected: &Secret,
        invocation: &Invocation,
    ) -> Result<Secret, ApiError> {
        let work = self
            .secrets
            .refresh(provider.name(), provider.key_field(), rejected);
        within_budget(invocation, work).await
    }
}

/// Secrets Manager has its own short timeouts; this also keeps a near deadline.
async fn within_budget<T>(
    invocation: &Invocation,
    work: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let late = ApiError::new(
        Code::SecretUnavailable,
        "Secrets Manager did not answer in time",
    );
    bounded(cutoff(invocation.deadline), late, work).await
}

/// The outcome of a send or a dry run; `sent` is `false` for a dry run.
fn answer(
    result: Result<Answer, ApiError>,
    sent: bool,
    invocation: &Invocation,
    mut report: Report,
) -> Outcome {
    match result {
        Ok(answer) => {
            report.outcome = match &answer {
                Answer::Sent(sent) => sent.status.clone(),
                Answer::DryRun(_) => "dry_run".into(),
            };
            report.sent = sent;
            report.unmetered = !sent;
            Outcome {
                result: Ok(answer),
                request_id: invocation.request_id.clone(),
                replay: false,
                report,
            }
        }
        Err(error) => Outcome::error(error, &invocation.request_id, report),
    }
}
