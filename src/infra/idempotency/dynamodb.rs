//! Idempotency (contract section 7): a DynamoDB record per idempotency key makes a request
//! go to the provider at most once per `IDEMPOTENCY_TTL_SECONDS`, and repeats answer the
//! first answer. When DynamoDB cannot be asked, the send is refused, never sent unguarded.

use crate::deadline::{bounded, cutoff, SAFETY_MARGIN};
use crate::error::{ApiError, Code};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;
use tokio::time::Instant;

const IN_FLIGHT: &str = "in_flight";
const DONE: &str = "done";

/// The idempotency table and its client, built on first use.
pub struct Guard {
    table: String,
    ttl: Duration,
    endpoint_url: Option<String>,
    client: OnceCell<Client>,
}

/// What a claim on a key found.
pub enum Claim {
    /// The key is ours: send, then `finish`.
    Fresh(Ticket),
    /// The same request was answered before: answer the same.
    Replay { http_status: u16, document: Value },
}

/// Proof that this invocation wrote the in-flight record: only its owner may finish it.
pub struct Ticket {
    key: String,
    owner: String,
}

impl Guard {
    pub fn new(table: String, ttl: Duration, endpoint_url: Option<String>) -> Guard {
        Guard {
            table,
            ttl,
            endpoint_url,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| build_client(self.endpoint_url.clone()))
            .await
    }

    /// Writes the in-flight record for `key` of the request whose fingerprint is `hash`,
    /// or says why this request may not be sent.
    pub async fn claim(&self, key: &str, hash: &str, deadline: Instant) -> Result<Claim, ApiError> {
        let work = async {
            // A record may vanish between the failed put and the read (deleted after a
            // retryable failure): then the put is worth one more try.
            for _ in 0..2 {
                let owner = format!("{:016x}", fastrand::u64(..));
                if self.put_in_flight(key, hash, &owner, deadline).await? {
                    return Ok(Claim::Fresh(Ticket {
                        key: key.to_string(),
                        owner,
                    }));
                }
                if let Some(claim) = self.existing(key, hash).await? {
                    return Ok(claim);
                }
            }
            Err(conflict(
                "a request with this idempotency key is still in flight",
            ))
        };
        within(cutoff(deadline), work).await
    }

    /// `true` when the record was written; `false` when a live record holds the key.
    async fn put_in_flight(
        &self,
        key: &str,
        hash: &str,
        owner: &str,
        deadline: Instant,
    ) -> Result<bool, ApiError> {
        // An in-flight record expires with this invocation, so that one left by an
        // invocation that died stops blocking once Lambda would have stopped it anyway; never
        // sooner: the deadline is rounded up to the next second, plus a margin for clocks.
        let left = deadline.saturating_duration_since(Instant::now());
        let expires_at = in_flight_expiry(now_since_epoch(), left);
        let result = self
            .client()
            .await
            .put_item()
            .table_name(&self.table)
            .item("id", s(key))
            .item("request_hash", s(hash))
            .item("status", s(IN_FLIGHT))
            .item("owner", s(owner))
            .item("expires_at", n(expires_at))
            // DynamoDB's TTL deletes expired records only eventually: until then an
            // expired record counts as absent.
            .condition_expression("attribute_not_exists(id) OR expires_at < :now")
            .expression_attribute_values(":now", n(epoch_now()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    /// Decides on a key held by another record; `None` when that record is gone or expired.
    async fn existing(&self, key: &str, hash: &str) -> Result<Option<Claim>, ApiError> {
        let output = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .key("id", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        let Some(item) = output.item() else {
            return Ok(None);
        };
        if number(item, "expires_at").is_some_and(|at| at < epoch_now()) {
            return Ok(None);
        }
        if text(item, "request_hash") != Some(hash) {
            return Err(conflict(
                "this idempotency key was used with a different request",
            ));
        }
        if text(item, "status") != Some(DONE) {
            return Err(conflict(
                "a request with this idempotency key is still in flight",
            ));
        }
        let stored = text(item, "answer").and_then(|a| serde_json::from_str::<Value>(a).ok());
        let status = number(item, "http_status").and_then(|n| u16::try_from(n).ok());
        match (stored, status) {
            (Some(document), Some(http_status)) => Ok(Some(Claim::Replay {
                http_status,
                document,
            })),
            _ => Err(ApiError::new(
                Code::IdempotencyUnavailable,
                "the stored answer for this idempotency key is unreadable",
            )),
        }
    }

    /// Stores a final answer for replays, or frees the key after a retryable failure so
    /// that a retry may send. A PROVIDER_TIMEOUT frees it too, though the provider may
    /// have sent the message: the caller was told it is retryable and decides.
    ///
    /// Failing here changes nothing for the caller, who gets the real answer, so it is
    /// only logged.
    pub async fn finish(
        &self,
        ticket: Ticket,
        http_status: u16,
        document: &Value,
        store: bool,
        deadline: Instant,
    ) {
        // The message is already sent: recording that is worth half the margin kept
        // for answering.
        let until = deadline.checked_sub(SAFETY_MARGIN / 2).unwrap_or(deadline);
        let work = async {
            let client = self.client().await;
            if store {
                client
                    .update_item()
                    .table_name(&self.table)
                    .key("id", s(&ticket.key))
                    .update_expression(
                        "SET #s = :done, answer = :answer, http_status = :status, expires_at = :exp",
                    )
                    .condition_expression("#o = :owner")
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_names("#o", "owner")
                    .expression_attribute_values(":owner", s(&ticket.owner))
                    .expression_attribute_values(":done", s(DONE))
                    .expression_attribute_values(":answer", s(&document.to_string()))
                    .expression_attribute_values(":status", n(u64::from(http_status)))
                    .expression_attribute_values(":exp", n(epoch_now() + self.ttl.as_secs()))
                    .send()
                    .await
                    .map_err(|e| unavailable("UpdateItem", e))?;
            } else {
                client
                    .delete_item()
                    .table_name(&self.table)
                    .key("id", s(&ticket.key))
                    .condition_expression("#o = :owner")
                    .expression_attribute_names("#o", "owner")
                    .expression_attribute_values(":owner", s(&ticket.owner))
                    .send()
                    .await
                    .map_err(|e| unavailable("DeleteItem", e))?;
            }
            Ok(())
        };
        let result = within(until, work).await;
        if result.is_err() {
            tracing::warn!(
                stored = store,
                "the idempotency record was not finished: it holds its key until this invocation's deadline"
            );
        }
    }
}

async fn build_client(endpoint_url: Option<String>) -> Client {
    Client::new(&crate::aws::sdk_config(endpoint_url).await)
}

/// Bounds DynamoDB work (client set-up included) by the invocation's own deadline.
async fn within<T>(
    until: Instant,
    work: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let late = ApiError::new(
        Code::IdempotencyUnavailable,
        "DynamoDB did not answer in time; nothing was sent",
    );
    bounded(until, late, work).await
}

fn conflict(message: &str) -> ApiError {
    ApiError::new(Code::IdempotencyConflict, message)
}

/// Any DynamoDB failure (unreachable, throttled, no table, no right) refuses the send.
fn unavailable<E: ProvideErrorMetadata, R>(operation: &str, error: SdkError<E, R>) -> ApiError {
    let reason = match &error {
        SdkError::TimeoutError(_) => "timed out".to_string(),
        SdkError::DispatchFailure(_) => "could not be reached".to_string(),
        SdkError::ServiceError(_) => format!("answered {}", error.code().unwrap_or("an error")),
        _ => "gave an unreadable answer".to_string(),
    };
    tracing::warn!(operation, error = %reason, "DynamoDB call failed");
    ApiError::new(
        Code::IdempotencyUnavailable,
        format!("the idempotency table {reason}; nothing was sent"),
    )
}

/// Kept past the invocation's deadline on an in-flight record, for clock differences
/// between the instance that wrote it and one that reads it.
const IN_FLIGHT_MARGIN: Duration = Duration::from_secs(5);

/// The epoch second after which an in-flight record written `now` by an invocation with
/// `left` to run may count as abandoned: never before that invocation's deadline.
fn in_flight_expiry(now: Duration, left: Duration) -> u64 {
    (now + left + IN_FLIGHT_MARGIN).as_secs() + 1
}

fn now_since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn epoch_now() -> u64 {
    now_since_epoch().as_secs()
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

fn n(number: u64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_flight_record_outlives_its_invocation_whatever_the_fractions() {
        for (now_ms, left_ms) in [(100_900, 2_500), (100_000, 0), (100_999, 999), (5, 29_999)] {
            let (now, left) = (
                Duration::from_millis(now_ms),
                Duration::from_millis(left_ms),
            );
            let deadline = now + left;
            let expires_at = in_flight_expiry(now, left);
            // A record counts as absent once `expires_at < epoch seconds now`.
            let first_second_absent = expires_at + 1;
            assert!(
                Duration::from_secs(first_second_absent) >= deadline + IN_FLIGHT_MARGIN,
                "{now_ms} + {left_ms}: expires at {expires_at}"
            );
        }
    }
}
