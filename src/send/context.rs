//! What a send is given besides its text: its invocation (id and deadline) and who asked.

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

/// What an entry point knows of a send besides its text.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub invocation: &'a Invocation,
    /// The key when the request gives none: the `Idempotency-Key` header (with the entry's
    /// index on the batch route), the SQS record's `messageId`, the EventBridge event's `id`.
    pub default_key: Option<&'a str>,
    /// Whose keys these are: two callers using the same key never meet (docs/guarantees.md).
    pub scope: &'a str,
    /// Who asked, for the request's log line.
    pub caller: Option<&'a str>,
}
