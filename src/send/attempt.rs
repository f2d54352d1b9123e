//! One attempt's parts: what is ready before it starts (its secret, its wire request, its
//! slot), and what it came to (the provider's answer, under which key).

use super::pacing::Reserved;
use crate::infra::secrets::Secret;
use crate::providers::transport::Exchange;
use crate::providers::ProviderRequest;
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
