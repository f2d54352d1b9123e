//! What a status record holds, and the trait of its stores.

use crate::domain::status::Stage;
use crate::infra::records::{StoreError, StoreResult};
use serde::Serialize;
use serde_json::Value;

/// A message the provider accepted, as its send stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct SentRecord {
    pub provider: String,
    pub message_id: String,
    /// Masked (`+62*******7890`).
    pub to: String,
    pub client_reference: Option<String>,
    pub request_id: String,
    /// Epoch seconds.
    pub sent_at: u64,
    /// Who sent it (`sender_of` its caller's scope): the only caller the status route answers.
    pub sender: String,
}

/// A record's `history` keeps at most this many statuses: the first and the latest ones.
pub const MAX_HISTORY: usize = 20;

/// A record remembers at most this many distinct status words (each word we do not know is
/// published once): past them, a new unknown word moves nothing.
pub const MAX_WORDS: usize = 32;

/// Who sent a message, as its record keeps it: a digest of the caller's scope (the identity
/// of idempotency keys), so that the table holds no caller's name.
pub fn sender_of(scope: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"wa-dispatch sender\0")
        .chain_update(scope.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// One status, to move its message forward with.
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    pub provider: String,
    pub message_id: String,
    pub stage: Stage,
    pub provider_status: String,
    /// Epoch seconds.
    pub occurred_at: u64,
    pub event_id: String,
    pub error: Option<Value>,
    pub pricing: Option<Value>,
    /// What the status itself says of these, kept when the send's record has none.
    pub client_reference: Option<String>,
    pub to: Option<String>,
    pub recipient_user_id: Option<String>,
}

/// What a move did.
#[derive(Clone, Debug, PartialEq)]
pub enum Moved {
    /// The message moved forward: publish its event (still pending until `published`).
    Forward { client_reference: Option<String> },
    /// A repeat or a late status: nothing to publish, unless its event was stored but never
    /// published (`pending`), when the function died or the bus refused in between.
    Not {
        pending: bool,
        client_reference: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub status: String,
    pub provider_status: String,
    /// Epoch seconds.
    pub occurred_at: u64,
}

/// A message's record, as the status route shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MessageStatus {
    pub provider: String,
    pub message_id: String,
    pub to: Option<String>,
    /// The recipient as Meta's business-scoped user id, when a status named it so.
    pub recipient_user_id: Option<String>,
    pub client_reference: Option<String>,
    pub request_id: Option<String>,
    pub sent_at: Option<u64>,
    /// `sender_of` the caller that sent it; `None` for a message this deployment never sent.
    pub sender: Option<String>,
    pub status: Option<String>,
    pub error: Option<Value>,
    pub pricing: Option<Value>,
    pub history: Vec<HistoryEntry>,
}

/// The record's id: prefixed, so that the table may be the idempotency table too (whose
/// ids are 64 hexadecimal digits).
pub fn record_id(provider: &str, message_id: &str) -> String {
    format!("msg#{provider}#{message_id}")
}

pub trait StatusStore: Send + Sync {
    /// Whether records are kept at all: `false` for the stand-in of a deployment without
    /// `STATUS_TABLE` (every verified status is then published, and the status route is 404).
    fn keeps(&self) -> bool {
        true
    }
    /// Stores a sent message's record (a status that came first keeps its history).
    fn record_sent<'a>(&'a self, record: &'a SentRecord, expires_at: u64) -> StoreResult<'a, ()>;
    /// Moves the message forward with `status`, if it does: `sent` < `delivered` < `read`,
    /// `failed` from any earlier; a word we do not know, once.
    fn advance<'a>(&'a self, status: &'a Move, expires_at: u64) -> StoreResult<'a, Moved>;
    /// The event of a move was put on the bus.
    fn published<'a>(
        &'a self,
        provider: &'a str,
        message_id: &'a str,
        event_id: &'a str,
    ) -> StoreResult<'a, ()>;
    fn get<'a>(
        &'a self,
        provider: &'a str,
        message_id: &'a str,
    ) -> StoreResult<'a, Option<MessageStatus>>;
}

/// A store failure, as the idempotency store's.
pub fn failed(operation: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError {
        operation,
        reason: reason.into(),
    }
}

/// A store call that did not answer in time.
pub fn timeout() -> StoreError {
    failed("status table", "did not answer in time")
}
