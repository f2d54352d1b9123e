//! Which outcomes a keyed send stores, and when a failure becomes `DELIVERY_UNKNOWN`
//! (docs/guarantees.md, "Idempotency"): the one home of that rule.
//!
//! - A success is stored (`IDEMPOTENCY_TTL_SECONDS`) and replayed.
//! - A failure after the request may have reached the provider becomes `DELIVERY_UNKNOWN`
//!   (final, not retryable), stored for `IDEMPOTENCY_UNKNOWN_TTL_SECONDS` and replayed.
//! - Every failure that certainly sent nothing frees the key: our own (validation, secrets,
//!   configuration, no slot in time), a connection that failed, and every documented refusal
//!   of the provider, retryable or not: an operator fixes a 402 or a key, and the retries of
//!   SQS, EventBridge or the caller then send.

use super::outcome::Sent;
use crate::error::ApiError;
use std::time::Duration;

/// What becomes of a keyed send's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    /// Keep the answer for replays, this long.
    Store { ttl: Duration },
    /// Nothing was sent: free the key.
    Release,
}

/// How long stored outcomes are kept.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ttls {
    /// A success (`IDEMPOTENCY_TTL_SECONDS`).
    pub ttl: Duration,
    /// A maybe-sent outcome (`IDEMPOTENCY_UNKNOWN_TTL_SECONDS`).
    pub unknown_ttl: Duration,
}

/// The answer of a send, and what becomes of its key's record. A send without a record
/// (`keyed` false: no table or no key) keeps its answer as it is: at least once.
pub(super) fn settle(
    result: Result<Sent, ApiError>,
    keyed: bool,
    ttls: Ttls,
) -> (Result<Sent, ApiError>, Decision) {
    match result {
        _ if !keyed => (result, Decision::Release),
        Ok(sent) => (Ok(sent), Decision::Store { ttl: ttls.ttl }),
        Err(error) if error.maybe_sent => (
            Err(error.into_delivery_unknown()),
            Decision::Store {
                ttl: ttls.unknown_ttl,
            },
        ),
        Err(error) => (Err(error), Decision::Release),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    const TTLS: Ttls = Ttls {
        ttl: Duration::from_secs(86_400),
        unknown_ttl: Duration::from_secs(1_814_400),
    };
    const UNKNOWN: Duration = TTLS.unknown_ttl;

    fn refusal(code: Code) -> ApiError {
        let mut error = ApiError::new(code, "refused").with_provider("autocalls");
        error.provider_status = Some(422);
        error
    }

    #[test]
    fn a_maybe_sent_failure_is_delivery_unknown_kept_as_long_as_unknowns_are() {
        let timeout = ApiError::new(Code::ProviderTimeout, "late").maybe_sent();
        let (result, decision) = settle(Err(timeout), true, TTLS);
        let error = result.unwrap_err();
        assert_eq!(
            (error.code, error.is_retryable()),
            (Code::DeliveryUnknown, false)
        );
        assert_eq!(decision, Decision::Store { ttl: UNKNOWN });
    }

    #[test]
    fn every_certain_refusal_frees_the_key_retryable_or_not() {
        for code in [
            Code::InsufficientBalance,
            Code::ProviderAuthFailed,
            Code::TemplateNotApproved,
            Code::ProviderRejected,
            Code::RateLimited,
            Code::SenderOffline,
            Code::ConfigurationError,
            Code::SecretUnavailable,
            Code::ProviderUnavailable,
        ] {
            let (result, decision) = settle(Err(refusal(code)), true, TTLS);
            assert_eq!(result.unwrap_err().code, code);
            assert_eq!(decision, Decision::Release, "{code}");
        }
    }

    #[test]
    fn without_a_record_a_maybe_sent_failure_stays_as_it_is_and_retryable() {
        let timeout = ApiError::new(Code::ProviderTimeout, "late").maybe_sent();
        let (result, decision) = settle(Err(timeout), false, TTLS);
        let error = result.unwrap_err();
        assert_eq!(
            (error.code, error.is_retryable()),
            (Code::ProviderTimeout, true)
        );
        assert_eq!(decision, Decision::Release);
    }
}
