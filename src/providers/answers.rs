//! What every provider's answer table is made of: the rows (an HTTP status, the provider's
//! own code, ours), the refusal they map to, and the rule for answers no row covers.

use super::provider::RawAnswer;
use super::redact::Redact;
use crate::error::{ApiError, Code};
use serde_json::Value;

/// Bounds for strings taken from a provider's answer (docs/guarantees.md, "Privacy").
pub const MAX_MESSAGE_CHARS: usize = 300;
pub const MAX_CODE_CHARS: usize = 64;
pub const MAX_ID_CHARS: usize = 256;

/// A JSON body, or `None` when the answer is not JSON: a body that does not parse, or one
/// labelled as something else (an HTML error page that happens to be valid JSON text).
pub fn json_body(answer: &RawAnswer) -> Option<&Value> {
    answer
        .json
        .get_or_init(|| {
            let labelled_json = answer
                .content_type
                .as_deref()
                .is_none_or(|t| t.to_ascii_lowercase().contains("json"));
            labelled_json
                .then(|| serde_json::from_slice(&answer.body).ok())
                .flatten()
        })
        .as_ref()
}

/// An answer outside the provider's documentation: never success, always retryable. A 3xx
/// (never followed) or a 4xx is a refusal of the request, so nothing was sent; any other
/// status (an undocumented 5xx, a 200 we cannot read) may come after the provider acted.
pub fn undocumented(provider: &'static str, answer: &RawAnswer, what: &str) -> ApiError {
    let what = if (300..400).contains(&answer.status) {
        "a redirect, which is never followed"
    } else {
        what
    };
    let mut error = ApiError::new(
        Code::ProviderUnavailable,
        format!("{provider} answered HTTP {} with {what}", answer.status),
    )
    .with_provider(provider);
    error.provider_status = Some(answer.status);
    error.maybe_sent = !(300..500).contains(&answer.status);
    error
}

/// One row of a provider's answer table: an HTTP status, the provider's own error code
/// (or any code), and ours.
pub struct Row {
    pub status: u16,
    pub provider_code: Match,
    pub code: Code,
}

pub enum Match {
    Exactly(&'static str),
    Prefix(&'static str),
    Any,
}

impl Match {
    fn matches(&self, code: Option<&str>) -> bool {
        match (self, code) {
            (Match::Any, _) => true,
            (Match::Exactly(want), Some(got)) => *want == got,
            (Match::Prefix(want), Some(got)) => got.starts_with(want),
            _ => false,
        }
    }
}

/// The statuses any HTTP API may give, after each provider's own rows: a key refused, a
/// request throttled.
const COMMON_ROWS: &[Row] = &[
    Row {
        status: 401,
        provider_code: Match::Any,
        code: Code::ProviderAuthFailed,
    },
    Row {
        status: 403,
        provider_code: Match::Any,
        code: Code::ProviderAuthFailed,
    },
    Row {
        status: 429,
        provider_code: Match::Any,
        code: Code::RateLimited,
    },
];

/// Maps a refusal through a provider's table, then `COMMON_ROWS`. Rows are tried in order; an answer that no
/// row covers is undocumented (`PROVIDER_UNAVAILABLE`), as are 5xx answers.
pub fn refusal(
    provider: &'static str,
    table: &[Row],
    answer: &RawAnswer,
    provider_code: Option<&str>,
    provider_message: Option<&str>,
    redact: &Redact,
) -> ApiError {
    let provider_code = provider_code.map(|code| redact.id(code, MAX_CODE_CHARS));
    let Some(row) = table.iter().chain(COMMON_ROWS).find(|row| {
        row.status == answer.status && row.provider_code.matches(provider_code.as_deref())
    }) else {
        let what = if answer.status >= 500 {
            "a server error"
        } else {
            "an undocumented answer"
        };
        let mut error = undocumented(provider, answer, what);
        error.provider_code = provider_code;
        return error;
    };
    let message = provider_message
        .map(|m| redact.text(m, MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| format!("{provider} refused the request (HTTP {})", answer.status));
    let mut error = ApiError::new(row.code, message).with_provider(provider);
    error.provider_status = Some(answer.status);
    error.provider_code = provider_code;
    error
}
