//! Meta's error codes and ours (docs/providers.md, "meta"): one table for a send's answer
//! and a status's error.

use crate::error::Code;
use serde_json::Value;

/// Meta's error codes and ours (docs/providers.md, "meta"). Codes not
/// listed are `PROVIDER_REJECTED` with the number as `provider_code`.
pub(super) fn code_for(code: i64) -> Code {
    match code {
        0 | 190 | 10 | 200..=299 | 131005 => Code::ProviderAuthFailed,
        4 | 80007 | 130429 | 131056 => Code::RateLimited,
        131000 | 131016 | 131057 | 133004 => Code::ProviderUnavailable,
        132001 => Code::TemplateNotFound,
        132000 | 132012 => Code::TemplateMismatch,
        132015 | 132016 => Code::TemplateNotApproved,
        131042 => Code::InsufficientBalance,
        _ => Code::ProviderRejected,
    }
}

/// Refusals Meta says may succeed later: the per-user marketing limit (after 24 h), a
/// throttled flow (hourly), a messaging limit lifted after its enforcement period.
pub(super) const RETRY_LATER: &[i64] = &[131049, 132069, 131064];

/// The codes Meta documents for template sends (its error-code page, as of 2026-09):
/// another code is not documented, and on an HTTP 5xx it is a server error after which the
/// message may have been sent.
const DOCUMENTED: &[i64] = &[
    0, 3, 4, 10, 100, 190, 368, 80007, 130403, 130429, 130472, 130497, 131000, 131005, 131008,
    131009, 131016, 131021, 131026, 131031, 131037, 131042, 131045, 131047, 131048, 131049, 131050,
    131051, 131052, 131053, 131056, 131057, 131063, 131064, 132000, 132001, 132005, 132007, 132012,
    132015, 132016, 132068, 132069, 133004, 133010, 135000,
];

pub(super) fn is_documented(code: i64) -> bool {
    DOCUMENTED.contains(&code) || (200..=299).contains(&code)
}

/// Our code for Meta's, and whether a retry may pass where Meta says more than the code's
/// own `retryable`: the refusals it advises retrying later, and its `is_transient` on codes
/// it does not document. The same table serves sends and statuses.
pub(super) fn classify(code: i64, error: &Value) -> (Code, Option<bool>) {
    let ours = code_for(code);
    let retryable = match ours {
        Code::ProviderRejected if RETRY_LATER.contains(&code) => Some(true),
        // Meta's own word on whether an error it does not document may pass later.
        Code::ProviderRejected if !is_documented(code) => {
            error.get("is_transient").and_then(Value::as_bool)
        }
        _ => None,
    };
    (ours, retryable)
}
