//! The HTTP exchange with a provider, shared by all of them: one pooled client, a time
//! budget per call, capped answer bodies, and retries only where the provider certainly
//! did not get the request (docs/guarantees.md, "Retries"), so that our own retry never
//! sends twice. Every failure says whether the request may have reached the provider, and
//! nothing a provider answers can redirect the key elsewhere, overflow a clock or hold a
//! send past its deadline. An attempt holds a send permit only while it runs.

use super::provider::{Auth, Provider, ProviderRequest, RawAnswer};
use crate::error::{ApiError, Code};
use crate::infra::secrets::ApiKey;
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Answers larger than this are not a documented provider answer.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Connection attempts that were refused before any byte was sent.
const CONNECT_ATTEMPTS: u32 = 3;
/// Provider 429s waited out within one send.
const RATE_LIMIT_ATTEMPTS: u32 = 4;
/// The longest `Retry-After` we pass on to a caller; a provider's larger value is absurd.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

pub struct Transport {
    client: reqwest::Client,
    timeout: Duration,
}

/// When one send's attempts must be over, and the latest moment one may start (so that it
/// starts with time to finish).
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub end: Instant,
    pub latest_start: Instant,
}

/// A provider's answer with how long the provider took.
pub struct Exchange {
    pub answer: RawAnswer,
    pub retry_after: Option<Duration>,
    /// The provider's own time: the HTTP attempts only, not our pacing, backoff or 429 waits.
    pub latency: Duration,
}

impl Transport {
    /// `connect_timeout` is shorter than the least time an attempt starts with, so that a
    /// connection that cannot be made fails as a connection (certainly nothing sent), never
    /// as the attempt's timeout (which may come after the request was written).
    pub fn new(timeout: Duration, pool_idle_timeout: Duration, connect_timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            // A redirect would carry the key, the number and the variables to another host
            // (reqwest keeps custom headers across hosts); a 3xx is answered, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(pool_idle_timeout)
            .tcp_keepalive(Duration::from_secs(15))
            .connect_timeout(connect_timeout)
            .user_agent(concat!("wa-dispatch/", env!("CARGO_PKG_VERSION")))
            .build()
            // Not `unwrap_or_default`: a default client would follow redirects. Building
            // fails only when the TLS backend cannot start, at init, before any event.
            .expect("the provider HTTP client builds");
        Transport { client, timeout }
    }

    /// Sends `request` to `provider` once (plus the safe retries) within `window`; each
    /// attempt holds one of `permits` while it runs, and none while waiting.
    pub async fn exchange(
        &self,
        sender: &dyn Provider,
        key: &ApiKey,
        request: &ProviderRequest,
        window: Window,
        permits: &Semaphore,
    ) -> Result<Exchange, ApiError> {
        let (provider, auth) = (sender.name(), sender.auth());
        let mut provider_time = Duration::ZERO;
        let mut refused = 0;
        let mut limited = 0;
        loop {
            // Nothing is sent once too little time is left to finish an attempt.
            if Instant::now() > window.latest_start {
                return Err(no_time_left(provider));
            }
            let permit = tokio::time::timeout_at(window.latest_start, permits.acquire())
                .await
                .map_err(|_| no_send_slot(provider))?
                .map_err(|_| ApiError::internal())?;
            let budget = window
                .end
                .checked_duration_since(Instant::now())
                .unwrap_or_default()
                .min(self.timeout);
            let attempt_started = Instant::now();
            let attempt = tokio::time::timeout(budget, self.attempt(auth, key, request)).await;
            provider_time += attempt_started.elapsed();
            drop(permit);
            match attempt {
                // The connection was made (a failed connection ends sooner, as such): the
                // request may have been written before time ran out.
                Err(_) => return Err(timeout(provider).maybe_sent()),
                Ok(Err(error)) if error.is_connect() && refused + 1 < CONNECT_ATTEMPTS => {
                    refused += 1;
                    tracing::warn!(
                        provider = provider,
                        attempt = refused,
                        cause = %crate::infra::telemetry::chain(&error),
                        "connection failed; retrying"
                    );
                    sleep_within(backoff(refused), window.latest_start).await;
                }
                Ok(Err(error)) => return Err(transport_error(provider, &error)),
                Ok(Ok((answer, retry_after))) => {
                    if sender.throttled(&answer) && limited + 1 < RATE_LIMIT_ATTEMPTS {
                        let wait = retry_after.unwrap_or_else(|| backoff(limited + 2));
                        // A wait of any size is checked against the time left, never added
                        // blindly to a clock; the retry after it must start with time to finish.
                        let fits = Instant::now()
                            .checked_add(wait)
                            .is_some_and(|t| t <= window.latest_start);
                        if fits {
                            limited += 1;
                            tracing::warn!(
                                provider = provider,
                                wait_ms = wait.as_millis() as u64,
                                "provider throttled the send; waiting"
                            );
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    return Ok(Exchange {
                        answer,
                        retry_after,
                        latency: provider_time,
                    });
                }
            }
        }
    }

    async fn attempt(
        &self,
        auth: Auth,
        key: &ApiKey,
        request: &ProviderRequest,
    ) -> Result<(RawAnswer, Option<Duration>), reqwest::Error> {
        let body = serde_json::to_vec(&request.body).unwrap_or_default();
        let builder = self
            .client
            .post(request.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let builder = match auth {
            Auth::Bearer => builder.bearer_auth(key.expose()),
            Auth::Header(name) => match HeaderValue::from_str(key.expose()) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    builder.header(name, value)
                }
                // A key that cannot be a header value is sent as nothing: the provider's
                // 401 then says so, without the key reaching any log.
                Err(_) => builder,
            },
        };
        let mut response = builder.send().await?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(CONTENT_TYPE);
        let retry_after =
            header(RETRY_AFTER).and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                // Past the cap the answer is not one we can read: keep what we have, which
                // will not parse as a documented answer.
                body.extend_from_slice(&chunk[..MAX_ANSWER_BYTES - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok((RawAnswer::new(status, content_type, body), retry_after))
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 100u64 << attempt.min(5);
    Duration::from_millis(base / 2 + fastrand::u64(0..=base / 2))
}

async fn sleep_within(wait: Duration, deadline: Instant) {
    let until = Instant::now()
        .checked_add(wait)
        .map_or(deadline, |t| t.min(deadline));
    tokio::time::sleep_until(until).await;
}

/// `Retry-After` in either form of RFC 9110 (section 10.2.3): a number of seconds, or an
/// HTTP date. A number too large for a clock is kept as the largest wait (callers cap it by
/// the time left); a negative number, a date in the past or garbage is no wait at all.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    use aws_sdk_secretsmanager::primitives::{DateTime, DateTimeFormat};
    let date = DateTime::from_str(value, DateTimeFormat::HttpDate).ok()?;
    let at = SystemTime::try_from(date).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Too little time is left to finish an attempt: nothing was sent.
pub fn no_time_left(provider: &'static str) -> ApiError {
    ApiError::new(
        Code::ProviderTimeout,
        format!(
            "too little time was left to wait for {}; nothing was sent",
            provider
        ),
    )
    .with_provider(provider)
}

fn no_send_slot(provider: &'static str) -> ApiError {
    ApiError::new(
        Code::ProviderTimeout,
        "no send slot came free in time; nothing was sent",
    )
    .with_provider(provider)
}

fn timeout(provider: &'static str) -> ApiError {
    ApiError::new(
        Code::ProviderTimeout,
        format!(
            "{} did not answer in time; the message may or may not have been sent",
            provider
        ),
    )
    .with_provider(provider)
}

/// A failure of the exchange itself. Only a failed connection is certain to have sent
/// nothing; a reset or a timeout after connecting may have come after the request was
/// written (hyper itself retries a pooled connection that closed before it wrote).
fn transport_error(provider: &'static str, error: &reqwest::Error) -> ApiError {
    if error.is_connect() {
        tracing::warn!(provider, cause = %crate::infra::telemetry::chain(error), "connection failed");
        return ApiError::new(
            Code::ProviderUnavailable,
            format!("{provider} could not be reached; nothing was sent"),
        )
        .with_provider(provider);
    }
    tracing::warn!(provider, cause = %crate::infra::telemetry::chain(error), "the exchange failed");
    if error.is_timeout() {
        return timeout(provider).maybe_sent();
    }
    ApiError::new(
        Code::ProviderUnavailable,
        format!("{provider} closed the connection or sent an unreadable answer"),
    )
    .with_provider(provider)
    .maybe_sent()
}
