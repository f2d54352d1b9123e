use super::*;

#[test]
fn the_table_matches_the_contract_for_retryable_codes() {
    let retryable: Vec<_> = [
        Code::SenderOffline,
        Code::RateLimited,
        Code::ProviderUnavailable,
        Code::ProviderTimeout,
        Code::SecretUnavailable,
        Code::IdempotencyConflict,
        Code::IdempotencyUnavailable,
    ]
    .iter()
    .map(|c| (c.as_str(), c.http_status()))
    .collect();
    assert_eq!(
        retryable,
        [
            ("SENDER_OFFLINE", 422),
            ("RATE_LIMITED", 429),
            ("PROVIDER_UNAVAILABLE", 502),
            ("PROVIDER_TIMEOUT", 504),
            ("SECRET_UNAVAILABLE", 503),
            ("IDEMPOTENCY_CONFLICT", 409),
            ("IDEMPOTENCY_UNAVAILABLE", 503)
        ]
    );
    assert!(!Code::ProviderAuthFailed.retryable());
    assert_eq!(Code::InsufficientBalance.http_status(), 402);
}

#[test]
fn the_document_names_the_field_and_the_request() {
    let doc = ApiError::invalid("variabels", "unknown field `variabels`").to_document("r-1");
    assert_eq!(doc["error"]["code"], "INVALID_REQUEST");
    assert_eq!(doc["error"]["field"], "variabels");
    assert_eq!(doc["error"]["retryable"], false);
    assert_eq!(doc["error"]["request_id"], "r-1");
    assert!(doc["error"]["provider"].is_null());
}
