//! The send use case, the same for every entry point: validate → idempotency claim →
//! secret → provider → one answer (kept for replays when it is final). Entry points only
//! decode their envelope and encode this answer.

use crate::error::{ApiError, Code};
use crate::idempotency::Claim;
use crate::providers::transport::{bounded, cutoff, MAX_RETRY_AFTER};
use crate::providers::{Accepted, ProviderKind, ProviderRequest, Redact};
use crate::request::SendRequest;
use crate::secrets::Credentials;
use crate::App;
use serde_json::{json, Value};
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
}

/// The answer to one send, with what its log line needs.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub http_status: u16,
    pub document: Value,
    pub retry_after: Option<Duration>,
    pub replay: bool,
    pub report: Report,
}

/// What the log line and metrics say of one send; never a key, value or full number.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub provider: Option<&'static str>,
    pub outcome: String,
    pub provider_status: Option<u16>,
    pub provider_latency: Option<Duration>,
    pub client_reference: Option<String>,
    pub to_masked: Option<String>,
    /// `true` when the provider accepted the message in this call.
    pub sent: bool,
    /// Dry runs and replays send nothing: they count in neither `Sent` nor `Failed`.
    pub unmetered: bool,
}

impl Outcome {
    pub fn error(error: &ApiError, request_id: &str, mut report: Report) -> Outcome {
        report.outcome = error.code.as_str().to_string();
        report.provider = report.provider.or(error.provider);
        report.provider_status = report.provider_status.or(error.provider_status);
        Outcome {
            http_status: error.http_status(),
            document: error.to_document(request_id),
            retry_after: error.retry_after,
            replay: false,
            report,
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
                return Outcome::error(&error, &invocation.request_id, Report::default());
            }
        };
        let mut report = Report {
            client_reference: body
                .get("client_reference")
                .and_then(Value::as_str)
                .map(|s| crate::telemetry::clean(s, 256)),
            ..Report::default()
        };
        let parsed =
            SendRequest::parse_document(&body, text, self.config.default_provider, header_key);
        let request = match parsed {
            Ok(request) => request,
            Err(error) => return Outcome::error(&error, &invocation.request_id, report),
        };
        report.provider = Some(request.provider.as_str());
        report.to_masked = Some(request.to.masked());
        if request.dry_run {
            let result = self.dry_run(&request, invocation).await;
            return answer(result, false, invocation, report);
        }
        // Validation came first: a request that cannot be sent writes no record.
        let guarded = match (&self.idempotency, request.idempotency_key.as_deref()) {
            // Boxed, as the other AWS and provider work below: the SDK's futures are large, and
            // on the stack they would overflow a thread's stack in debug builds.
            (Some(guard), Some(key)) => {
                match Box::pin(guard.claim(key, &request, invocation.deadline)).await {
                    Ok(Claim::Fresh(ticket)) => Some((guard, ticket)),
                    Ok(Claim::Replay {
                        http_status,
                        document,
                    }) => return replay(http_status, document, report),
                    Err(error) => return Outcome::error(&error, &invocation.request_id, report),
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
            .is_none_or(|e| e.maybe_sent || (!e.code.retryable() && e.provider_status.is_some()));
        let outcome = answer(result, true, invocation, report);
        if let Some((guard, ticket)) = guarded {
            Box::pin(guard.finish(
                ticket,
                outcome.http_status,
                &outcome.document,
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
    ) -> Result<Value, ApiError> {
        // The secret is read only when the request needs what it holds (autocalls'
        // default sender); the answer never holds a credential.
        let needs_secret =
            request.provider == ProviderKind::Autocalls && request.autocalls.sender_id.is_none();
        let credentials = if needs_secret {
            self.credentials(request.provider, invocation).await?
        } else {
            Credentials::new("", None)
        };
        let built = self
            .providers
            .get(request.provider)
            .build(request, &credentials)?;
        Ok(json!({
            "dry_run": true,
            "provider": request.provider.as_str(),
            "to": request.to.e164(),
            "provider_request": { "method": "POST", "url": built.url.as_str(), "body": built.body },
        }))
    }

    async fn deliver(
        &self,
        request: &SendRequest,
        invocation: &Invocation,
        report: &mut Report,
    ) -> Result<Value, ApiError> {
        let _permit = tokio::time::timeout_at(cutoff(invocation.deadline), self.permits.acquire())
            .await
            .map_err(|_| {
                ApiError::new(
                    Code::ProviderTimeout,
                    "no send slot came free in time; nothing was sent",
                )
            })?
            .map_err(|_| ApiError::internal())?;
        let kind = request.provider;
        let provider = self.providers.get(kind);
        let mut credentials = self.credentials(kind, invocation).await?;
        let mut built = provider.build(request, &credentials)?;
        let mut exchange = self
            .exchange(kind, &credentials, &built, invocation)
            .await?;
        let mut provider_time = exchange.latency;
        if exchange.answer.status == 401 {
            // The key may have been rotated: fetch it again, and try once more only if it changed.
            if let Ok(fresh) = self.refresh(kind, &credentials, invocation).await {
                if fresh.api_key != credentials.api_key {
                    tracing::info!(
                        provider = kind.as_str(),
                        "provider refused the key; retrying with the rotated key"
                    );
                    credentials = fresh;
                    built = provider.build(request, &credentials)?;
                    exchange = self
                        .exchange(kind, &credentials, &built, invocation)
                        .await?;
                    provider_time += exchange.latency;
                }
            }
        }
        report.provider_status = Some(exchange.answer.status);
        report.provider_latency = Some(provider_time);
        let redact = Redact::new(credentials.api_key.expose(), request.personal_values());
        let accepted = provider
            .interpret(&exchange.answer, &redact)
            .map_err(|mut error| {
                // `Retry-After` only when the provider gave one (contract section 4).
                if error.code == Code::RateLimited {
                    error.retry_after = exchange.retry_after.map(|wait| wait.min(MAX_RETRY_AFTER));
                }
                error
            })?;
        Ok(success_document(request, accepted, &invocation.request_id))
    }

    async fn exchange(
        &self,
        kind: ProviderKind,
        credentials: &Credentials,
        built: &ProviderRequest,
        invocation: &Invocation,
    ) -> Result<crate::providers::transport::Exchange, ApiError> {
        let pacer = (kind == ProviderKind::Autocalls).then_some(&self.autocalls_pacer);
        let auth = self.providers.get(kind).auth();
        self.transport
            .exchange(
                kind,
                auth,
                &credentials.api_key,
                built,
                invocation.deadline,
                pacer,
            )
            .await
    }

    async fn credentials(
        &self,
        kind: ProviderKind,
        invocation: &Invocation,
    ) -> Result<Credentials, ApiError> {
        within_budget(invocation, self.secrets.credentials(kind)).await
    }

    async fn refresh(
        &self,
        kind: ProviderKind,
        rejected: &Credentials,
        invocation: &Invocation,
    ) -> Result<Credentials, ApiError> {
        within_budget(invocation, self.secrets.refresh(kind, rejected)).await
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

/// The answer to a send or a dry run; `sent` is `false` for a dry run.
fn answer(
    result: Result<Value, ApiError>,
    sent: bool,
    invocation: &Invocation,
    mut report: Report,
) -> Outcome {
    match result {
        Ok(document) => {
            report.outcome = document["status"].as_str().unwrap_or("dry_run").to_string();
            report.sent = sent;
            report.unmetered = !sent;
            Outcome {
                http_status: 200,
                document,
                retry_after: None,
                replay: false,
                report,
            }
        }
        Err(error) => Outcome::error(&error, &invocation.request_id, report),
    }
}

/// The stored answer of the first send, as it was.
fn replay(http_status: u16, document: Value, mut report: Report) -> Outcome {
    report.unmetered = true;
    report.outcome = match document["status"].as_str() {
        Some(status) if http_status == 200 => status.to_string(),
        _ => document["error"]["code"]
            .as_str()
            .unwrap_or("replay")
            .to_string(),
    };
    Outcome {
        http_status,
        document,
        retry_after: None,
        replay: true,
        report,
    }
}

fn success_document(request: &SendRequest, accepted: Accepted, request_id: &str) -> Value {
    json!({
        "provider": request.provider.as_str(),
        "status": accepted.status,
        "message_id": accepted.message_id,
        "to": request.to.e164(),
        "client_reference": request.client_reference,
        "request_id": request_id,
        "provider_details": accepted.details,
    })
}

impl Invocation {
    /// The same invocation under another request id (the caller's `X-Request-Id`).
    pub fn with_id(&self, request_id: &str) -> Invocation {
        Invocation {
            request_id: request_id.to_string(),
            deadline: self.deadline,
        }
    }
}
