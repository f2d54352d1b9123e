//! What an idempotency key's record says, and the record moved along by its owner
//! (docs/guarantees.md, "Idempotency"): `claimed` (certainly not yet written to the
//! provider), `sending` (written, or about to be: from here on the message may have been
//! sent), `done` (the outcome stored). A record that may have been sent never turns back
//! into "nothing was sent": a stale `sending` answers `DELIVERY_UNKNOWN` for as long as a
//! stored one would; only a stale `claimed` frees its key.

use super::deadline::{cutoff, Budget};
use super::lease::lease_until;
use super::outcome::{unknown, unreadable, EarlierAnswer};
use super::settlement::Decision;
use crate::error::{ApiError, Code};
use crate::infra::epoch_secs;
use crate::infra::idempotency::{Change, IdempotencyStore, Record, State, StoreError, VERSION};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::time::Instant;

/// What a claim on a key found.
pub(super) enum Claim {
    /// The key is ours: send, then `finish`.
    Fresh(Ticket),
    /// An earlier request with this key decided the answer (a replay, or `DELIVERY_UNKNOWN`).
    Earlier(EarlierAnswer),
}

/// What a send holds of its key's record: proof that this invocation wrote it (only its
/// owner may move it on), or nothing, for a send without a table or a key.
pub(super) enum Ticket {
    Unkeyed,
    Held {
        id: String,
        owner: String,
        state: State,
    },
}

impl Ticket {
    /// Whether the send has a record to settle.
    pub fn held(&self) -> bool {
        matches!(self, Ticket::Held { .. })
    }
}

/// A key to claim: its record's id and the request's fingerprint.
pub(super) struct Keyed {
    pub id: String,
    pub fingerprint: String,
    /// The bare key, where a claim also looks for a record an earlier version wrote under it.
    pub legacy_id: Option<String>,
}

/// The record's id of `key` used by `scope`: a digest of whose key it is and the key, so that two callers' keys
/// never meet and the table holds no caller's text.
pub fn record_id(scope: &str, key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(scope.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    hex::encode(digest)
}

pub(super) struct KeyGuard<'a> {
    store: &'a dyn IdempotencyStore,
    ttl: Duration,
    unknown_ttl: Duration,
}

impl<'a> KeyGuard<'a> {
    pub fn new(store: &'a dyn IdempotencyStore, ttl: Duration, unknown_ttl: Duration) -> Self {
        KeyGuard {
            store,
            ttl,
            unknown_ttl,
        }
    }

    /// Writes this invocation's record for the key, `sending` when the send starts at once,
    /// else `claimed`; or says what an earlier record decides.
    pub async fn claim(
        &self,
        keyed: Keyed,
        sending: bool,
        budget: Budget,
    ) -> Result<Claim, ApiError> {
        let (id, fingerprint) = (keyed.id.as_str(), keyed.fingerprint.as_str());
        let legacy_id = keyed.legacy_id.as_deref();
        let state = if sending {
            State::Sending
        } else {
            State::Claimed
        };
        // The owner of a put that may have landed, for freeing it if the claim fails after.
        let attempted = std::sync::Mutex::new(None::<String>);
        let work = async {
            // A record may vanish between the failed put and the read (its key freed after a
            // certain refusal): then the put is worth one more try.
            for _ in 0..2 {
                let now = epoch_secs();
                let owner = format!("{:016x}", fastrand::u64(..));
                *attempted.lock().unwrap_or_else(|p| p.into_inner()) = Some(owner.clone());
                let record = Record {
                    id: id.to_string(),
                    fingerprint: fingerprint.to_string(),
                    owner,
                    state: Some(state),
                    lease_until: lease_until(now, budget.deadline),
                    expires_at: self.expiry(state, now, budget.deadline),
                    http_status: None,
                    answer: None,
                    version: Some(VERSION),
                };
                // Read side by side with the claim: a record an earlier version wrote under the
                // bare key (before keys were scoped), still live, means this key was used.
                let legacy = async {
                    match legacy_id {
                        Some(id) => self
                            .store
                            .get(id)
                            .await
                            .map(|r| r.filter(|r| r.state.is_none() && r.expires_at >= now)),
                        None => Ok(None),
                    }
                };
                let (written, legacy) = tokio::join!(self.store.put_new(&record, now), legacy);
                if written.map_err(unavailable)? {
                    if legacy.map_err(unavailable)?.is_some() {
                        self.store
                            .delete(&record.id, &record.owner)
                            .await
                            .map_err(unavailable)?;
                        *attempted.lock().unwrap_or_else(|p| p.into_inner()) = None;
                        return Err(ApiError::new(
                            Code::IdempotencyConflict,
                            "this idempotency key was used by an earlier version of wa-dispatch within its TTL; nothing was sent",
                        ));
                    }
                    *attempted.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    return Ok(Claim::Fresh(Ticket::Held {
                        id: record.id,
                        owner: record.owner,
                        state,
                    }));
                }
                *attempted.lock().unwrap_or_else(|p| p.into_inner()) = None;
                match self.store.get(id).await.map_err(unavailable)? {
                    Some(earlier) if earlier.expires_at >= now => {
                        return decide(&earlier, fingerprint, now).map(Claim::Earlier)
                    }
                    _ => continue,
                }
            }
            Err(in_flight())
        };
        let claimed = crate::infra::bounded(cutoff(budget.deadline), late(), work).await;
        let landed = attempted.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let (Err(error), Some(owner)) = (&claimed, landed) {
            if error.code == Code::IdempotencyUnavailable {
                // Refused with nothing sent: a record of ours that may have landed must not
                // hold the key (a `sending` one would answer DELIVERY_UNKNOWN for 21 days).
                let free = async {
                    self.store
                        .delete(id, &owner)
                        .await
                        .map(|_| ())
                        .map_err(|_| ())
                };
                let _ = crate::infra::bounded(budget.settle_by(), (), free).await;
            }
        }
        claimed
    }

    /// Marks a claimed record as sending, just before the first byte of the first attempt:
    /// if this fails, nothing was sent.
    pub async fn mark_sending(&self, ticket: &mut Ticket, budget: Budget) -> Result<(), ApiError> {
        let Ticket::Held { id, owner, state } = ticket else {
            return Ok(());
        };
        if *state != State::Claimed {
            return Ok(());
        }
        let now = epoch_secs();
        let change = Change {
            state: State::Sending,
            lease_until: lease_until(now, budget.deadline),
            expires_at: self.expiry(State::Sending, now, budget.deadline),
            answer: None,
        };
        let work = async {
            match self.store.update(id, owner, &change).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(ApiError::new(
                    Code::IdempotencyConflict,
                    "the idempotency record was taken over before sending; nothing was sent",
                )),
                Err(error) => Err(unavailable(error)),
            }
        };
        crate::infra::bounded(cutoff(budget.deadline), late(), work).await?;
        *state = State::Sending;
        Ok(())
    }

    /// Stores the outcome or frees the key, as `decision` says, retrying within the time
    /// kept for it. When it cannot be done the record stays as it is: a `sending` one then
    /// answers `DELIVERY_UNKNOWN` to every repeat, a `claimed` one frees its key when its
    /// lease ends. Either way the caller gets the real answer.
    /// `answer` is the outcome's HTTP status and the document kept for replays.
    pub async fn finish(
        &self,
        ticket: Ticket,
        decision: Decision,
        answer: (u16, String),
        budget: Budget,
    ) {
        let Ticket::Held { id, owner, state } = ticket else {
            return;
        };
        let change = match decision {
            Decision::Store { ttl } => {
                let now = epoch_secs();
                Some(Change {
                    state: State::Done,
                    lease_until: now,
                    expires_at: now + ttl.as_secs(),
                    answer: Some(answer),
                })
            }
            Decision::Release => None,
        };
        let work = async {
            let mut pause = Duration::from_millis(25);
            loop {
                let done = match &change {
                    Some(change) => self.store.update(&id, &owner, change).await,
                    None => self.store.delete(&id, &owner).await,
                };
                match done {
                    // `false`: another owner holds the record now (ours had expired): nothing
                    // of ours is left to move.
                    Ok(_) => return Ok(()),
                    Err(error) => {
                        tracing::warn!(error = %error, "the idempotency record was not finished; retrying");
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                    }
                }
            }
        };
        if crate::infra::bounded(budget.settle_by(), (), work)
            .await
            .is_err()
        {
            tracing::error!(
                stored = change.is_some(),
                state = state.as_str(),
                "the idempotency record was not finished: a repeat of its key answers DELIVERY_UNKNOWN (sending) or waits for its lease to end (claimed)"
            );
        }
    }

    fn expiry(&self, state: State, now: u64, deadline: Instant) -> u64 {
        match state {
            // A claimed record that was never moved on frees its key once its lease ends.
            State::Claimed => lease_until(now, deadline),
            // One that may have been sent is kept as long as a stored DELIVERY_UNKNOWN.
            // Never before its lease ends, however short the TTL is set.
            State::Sending => (now + self.unknown_ttl.as_secs()).max(lease_until(now, deadline)),
            State::Done => now + self.ttl.as_secs(),
        }
    }
}

/// What a live record held by an earlier request decides for this one.
fn decide(earlier: &Record, fingerprint: &str, now: u64) -> Result<EarlierAnswer, ApiError> {
    if earlier.fingerprint != fingerprint {
        return Err(ApiError::new(
            Code::IdempotencyConflict,
            "this idempotency key was used with a different request",
        ));
    }
    let live = earlier.lease_until >= now;
    match earlier.state {
        Some(State::Done) => Ok(stored(earlier)),
        Some(State::Claimed) => Err(in_flight()),
        Some(State::Sending) | None if live => Err(in_flight()),
        Some(State::Sending) => Ok(EarlierAnswer::Unknown(unknown(
            "an earlier request with this idempotency key may have reached the provider, and its outcome was never recorded",
        ))),
        None => Ok(EarlierAnswer::Unknown(unreadable())),
    }
}

fn stored(earlier: &Record) -> EarlierAnswer {
    let document = earlier
        .answer
        .as_deref()
        .filter(|_| earlier.version == Some(VERSION))
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    match (earlier.http_status, document) {
        (Some(http_status), Some(document)) => EarlierAnswer::Stored {
            http_status,
            document,
        },
        _ => EarlierAnswer::Unknown(unreadable()),
    }
}

fn in_flight() -> ApiError {
    ApiError::new(
        Code::IdempotencyConflict,
        "a request with this idempotency key is still in flight",
    )
}

fn late() -> ApiError {
    ApiError::new(
        Code::IdempotencyUnavailable,
        "DynamoDB did not answer in time; nothing was sent",
    )
}

/// Any DynamoDB failure (unreachable, throttled, no table, no right) refuses the send.
fn unavailable(error: StoreError) -> ApiError {
    ApiError::new(
        Code::IdempotencyUnavailable,
        format!("the idempotency table {}; nothing was sent", error.reason),
    )
}

#[cfg(test)]
mod tests;
