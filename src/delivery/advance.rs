//! Moving each message forward with the statuses of one POST, by a conditional write each
//! (docs/statuses.md, "Order and duplicates"): one message's statuses one after another, in
//! the order they came, different messages side by side. A panic while handling one
//! message's statuses is theirs alone.

use super::tracker::{StatusTracker, CONCURRENT_WRITES};
use crate::domain::status::Status;
use crate::error::{ApiError, Code};
use crate::infra::records::StoreError;
use crate::infra::statuses::{Move, Moved, StatusStore};
use futures_util::{FutureExt, StreamExt};
use std::collections::BTreeMap;
use tokio::time::Instant;

/// The statuses to publish (by index, with the client_reference their record gives), and
/// how many could not be handled (a panic).
pub(super) struct Chosen {
    pub publish: Vec<(usize, Option<String>)>,
    pub panicked: usize,
}

impl StatusTracker {
    /// Moves each message forward with its statuses, in the order they came (one message's
    /// one after another, different messages side by side): the statuses to publish.
    pub(super) async fn advance(
        &self,
        store: &dyn StatusStore,
        provider: &str,
        statuses: &[Status],
        ids: &[String],
        received_at: u64,
        until: Instant,
    ) -> Result<Chosen, ApiError> {
        let mut by_message: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, status) in statuses.iter().enumerate() {
            by_message
                .entry(status.message_id.as_str())
                .or_default()
                .push(i);
        }
        let expires_at = received_at / 1000 + self.ttl.as_secs();
        let runs = by_message.into_values().map(|indexes| async move {
            let count = indexes.len();
            let run = move_one(
                store,
                provider,
                statuses,
                ids,
                indexes,
                received_at,
                expires_at,
            );
            // A panic while handling one message's statuses is theirs alone: counted, and the
            // other messages of the POST go on.
            std::panic::AssertUnwindSafe(run)
                .catch_unwind()
                .await
                .unwrap_or(Ok(Err(count)))
        });
        let written = crate::infra::bounded(until, crate::infra::statuses::timeout(), async {
            let results: Vec<_> = futures_util::stream::iter(runs)
                .buffer_unordered(CONCURRENT_WRITES)
                .collect()
                .await;
            results.into_iter().collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|error| {
            ApiError::new(
                Code::StatusUnavailable,
                format!(
                    "the status table {}; deliver the webhook again",
                    error.reason
                ),
            )
            .with_provider(provider)
        })?;
        let mut chosen = Chosen {
            publish: vec![],
            panicked: 0,
        };
        for run in written {
            match run {
                Ok(publish) => chosen.publish.extend(publish),
                Err(panicked) => chosen.panicked += panicked,
            }
        }
        chosen.publish.sort_by_key(|(i, _)| *i);
        Ok(chosen)
    }
}

type Run = Result<Vec<(usize, Option<String>)>, usize>;

/// One message's statuses, one after another: those to publish.
async fn move_one(
    store: &dyn StatusStore,
    provider: &str,
    statuses: &[Status],
    ids: &[String],
    indexes: Vec<usize>,
    received_at: u64,
    expires_at: u64,
) -> Result<Run, StoreError> {
    let mut chosen = Vec::new();
    for i in indexes {
        let status = &statuses[i];
        let change = Move {
            provider: provider.to_string(),
            message_id: status.message_id.clone(),
            stage: status.stage,
            provider_status: status.provider_status.clone(),
            occurred_at: status.occurred_at.unwrap_or(received_at / 1000),
            event_id: ids[i].clone(),
            error: status
                .error
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok()),
            pricing: status.pricing.clone(),
            client_reference: status.client_reference.clone(),
            to: status.to.clone(),
            recipient_user_id: status.recipient_user_id.clone(),
        };
        match store.advance(&change, expires_at).await? {
            Moved::Forward { client_reference }
            | Moved::Not {
                pending: true,
                client_reference,
            } => chosen.push((i, client_reference)),
            Moved::Not { pending: false, .. } => {}
        }
    }
    Ok(Ok(chosen))
}
