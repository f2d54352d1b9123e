//! What an idempotency record is, and the trait every store of them implements.

use crate::infra::records::StoreResult;

/// The version of the stored answer's document; a record of another version is never
/// replayed as if it were ours.
pub const VERSION: u64 = 2;

/// Where a record's send stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Claimed, and certainly not yet written to the provider.
    Claimed,
    /// The request is being written to the provider, or may have been.
    Sending,
    /// The outcome is stored.
    Done,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Claimed => "claimed",
            State::Sending => "sending",
            State::Done => "done",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        [State::Claimed, State::Sending, State::Done]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One record, as stored. It holds no phone number and no variable value: the id and the
/// fingerprint are digests, the answer is the stored document (which never holds them).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: String,
    /// HMAC-SHA256 of what is sent, under the function's fingerprint key.
    pub fingerprint: String,
    /// The invocation that wrote it: only its owner may move it on.
    pub owner: String,
    /// `None` for a state this version does not know (written by another version).
    pub state: Option<State>,
    /// Epoch seconds until which the owner may still be working on it.
    pub lease_until: u64,
    /// Epoch seconds after which the record counts as absent (and DynamoDB's TTL removes it).
    pub expires_at: u64,
    pub http_status: Option<u16>,
    /// The stored answer's document, as JSON text.
    pub answer: Option<String>,
    pub version: Option<u64>,
}

/// A change of a record by its owner.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub state: State,
    pub lease_until: u64,
    pub expires_at: u64,
    /// The outcome, for `State::Done`.
    pub answer: Option<(u16, String)>,
}

/// Conditional reads and writes of idempotency records.
pub trait IdempotencyStore: Send + Sync {
    /// Whether records are kept at all: `false` for the stand-in of a deployment without
    /// `IDEMPOTENCY_TABLE`, whose keys are accepted and ignored.
    fn keeps(&self) -> bool {
        true
    }
    /// Writes `record` unless a live record (one whose `expires_at` is not before `now`)
    /// holds its id; `true` when written.
    fn put_new<'a>(&'a self, record: &'a Record, now: u64) -> StoreResult<'a, bool>;
    /// The record of `id`, read consistently.
    fn get<'a>(&'a self, id: &'a str) -> StoreResult<'a, Option<Record>>;
    /// Applies `change` if `owner` still holds `id`; `true` when applied.
    fn update<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        change: &'a Change,
    ) -> StoreResult<'a, bool>;
    /// Deletes `id` if `owner` still holds it; `true` when deleted.
    fn delete<'a>(&'a self, id: &'a str, owner: &'a str) -> StoreResult<'a, bool>;
}
