//! One attempt's parts: what is ready before it starts (its secret, its wire request, its
//! slot), and what it came to (the provider's answer, under which key).

use super::outcome::Sent;
use super::pacing::Reserved;
use super::request::SendRequest;
use crate::error::{ApiError, Code};
use crate::infra::secrets::Secret;
use crate::infra::telemetry::Report;
use crate::providers::transport::{Exchange, MAX_RETRY_AFTER};
use crate::providers::{ProviderRequest, Redact};
use std::time::Duration;
use tokio::time::Instant;

/// An attempt ready to go: its secret, its wire request and its reserved slot.
pub(super) struct Prepared {
    pub secret: Secret,
    pub built: ProviderRequest,
    pub slot: Option<Reserved>,
}

impl Prepared {
    /// Whether the attempt may start at once (no pacing wait).
    pub fn starts_now(&self) -> bool {
        self.slot
            .as_ref()
            .is_none_or(|reserved| reserved.slot.at <= Instant::now())
    }

    /// Waits for the slot; how long it waited.
    pub async fn wait(&self) -> Duration {
        let Some(reserved) = &self.slot else {
            return Duration::ZERO;
        };
        let started = Instant::now();
        reserved.slot.wait().await;
        started.elapsed()
    }
}

/// An attempt made: the provider's answer, and the secret whose key it was sent with.
pub(super) struct Attempted {
    pub exchange: Exchange,
    pub secret: Secret,
}

impl Attempted {
    /// The provider's answer, read by the provider's table; its texts cleaned of the key and
    /// of the request's values.
    pub fn interpret(self, request: &SendRequest, report: &mut Report) -> Result<Sent, ApiError> {
        let provider = request.provider();
        let Attempted { exchange, secret } = self;
        report.provider_status = Some(exchange.answer.status);
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
}
