//! The rules under a second fault: the store refusing a write, a function that died, the
//! shared rate limit failing.

use super::*;

#[tokio::test]
async fn an_outcome_whose_write_fails_is_never_taken_as_nothing_sent() {
    let h = harness().await;
    h.answers(ok()).await;
    h.store.fail(Operation::Update(State::Done), 1000);
    let first = h
        .send_as(&request("k"), "test", Duration::from_secs(3))
        .await;
    assert!(first.result.is_ok(), "the caller gets the real answer");
    let mut record = h.record("k");
    assert_eq!(record.state, Some(State::Sending));
    // The invocation is long over (its lease has passed): a redelivery a day later.
    record.lease_until = epoch_secs() - 86_400;
    h.store.insert(record);
    let again = h.send("k").await;
    assert_eq!(code(&again), Some(Code::DeliveryUnknown));
    assert_eq!(h.sent().await, 1);
}

#[tokio::test]
async fn a_write_that_fails_once_is_retried_within_the_time_kept_for_it() {
    let h = harness().await;
    h.answers(ok()).await;
    h.store.fail(Operation::Update(State::Done), 2);
    assert!(h.send("k").await.result.is_ok());
    assert_eq!(h.record("k").state, Some(State::Done));
}

#[tokio::test]
async fn a_function_that_died_while_sending_leaves_delivery_unknown() {
    let h = harness().await;
    h.answers(ok()).await;
    // What an invocation that died between the provider's answer and the write left behind.
    let key = FingerprintKey::new(FINGERPRINT_KEY).unwrap();
    let parsed = crate::send::request::SendRequest::parse(&request("k"), None, None).unwrap();
    h.store.insert(Record {
        id: crate::send::record_id("test", "k"),
        fingerprint: parsed.fingerprint(&key),
        owner: "dead".into(),
        state: Some(State::Sending),
        lease_until: epoch_secs() - 1,
        expires_at: epoch_secs() + 1_814_000,
        http_status: None,
        answer: None,
        version: Some(VERSION),
    });
    let again = h.send("k").await;
    assert_eq!(
        (code(&again), again.replay),
        (Some(Code::DeliveryUnknown), true)
    );
    assert_eq!(h.sent().await, 0);
}

#[tokio::test]
async fn a_store_that_cannot_claim_or_mark_refuses_the_send_and_sends_nothing() {
    let h = harness().await;
    h.answers(ok()).await;
    h.store.fail(Operation::Put, 1);
    assert_eq!(code(&h.send("k").await), Some(Code::IdempotencyUnavailable));
    // A paced send is claimed first, then marked as sending when its slot comes.
    let paced = harness_with(&[("ECHO_MAX_RPS", "2")], true).await;
    paced.answers(ok()).await;
    assert!(paced.send("first").await.result.is_ok());
    paced.store.fail(Operation::Update(State::Sending), 1);
    let refused = paced.send("second").await;
    assert_eq!(code(&refused), Some(Code::IdempotencyUnavailable));
    assert!(
        paced
            .store
            .record(&crate::send::record_id("test", "second"))
            .is_none(),
        "key freed"
    );
    assert_eq!(h.sent().await + paced.sent().await, 1);
}

#[tokio::test]
async fn a_live_record_an_earlier_version_wrote_under_the_bare_key_is_a_conflict() {
    let h = harness().await;
    h.answers(ok()).await;
    // The earlier version's record: the bare key as its id, no state of ours.
    h.store.insert(Record {
        id: "k".into(),
        fingerprint: String::new(),
        owner: String::new(),
        state: None,
        lease_until: 0,
        expires_at: epoch_secs() + 3600,
        http_status: None,
        answer: None,
        version: None,
    });
    assert_eq!(code(&h.send("k").await), Some(Code::IdempotencyConflict));
    assert!(
        h.store
            .record(&crate::send::record_id("test", "k"))
            .is_none(),
        "ours released"
    );
    assert_eq!(h.sent().await, 0);
    let off = harness_with(&[("IDEMPOTENCY_LEGACY_LOOKUP", "false")], true).await;
    off.answers(ok()).await;
    off.store.insert(h.store.record("k").unwrap());
    assert!(off.send("k").await.result.is_ok());
}

#[tokio::test]
async fn a_claim_refused_after_its_record_landed_frees_the_key() {
    let h = harness().await;
    h.answers(ok()).await;
    // The claim's side-by-side read of the earlier version's record fails; the put landed.
    h.store.fail(Operation::Get, 1);
    assert_eq!(code(&h.send("k").await), Some(Code::IdempotencyUnavailable));
    assert!(
        h.store
            .record(&crate::send::record_id("test", "k"))
            .is_none(),
        "key held"
    );
    assert!(h.send("k").await.result.is_ok());
    assert_eq!(h.sent().await, 1);
}

#[tokio::test]
async fn a_rate_limit_that_fails_leaves_the_instance_pacing_alone_and_every_send_goes() {
    // echo is paced at 5/s here: the instance's own pacer spaces the sends.
    let h = harness_with(&[("ECHO_MAX_RPS", "5")], true).await;
    h.answers(ok()).await;
    h.limiter.fail(1);
    let started = tokio::time::Instant::now();
    let mut outcomes = vec![];
    for n in 0..3 {
        outcomes.push(h.send(&format!("paced-{n}")).await);
    }
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "no send refused");
    assert!(
        outcomes.iter().all(|o| o.report.rate_limit_fallback),
        "each counted as RateLimitFallback while the instance paces alone"
    );
    assert_eq!(h.sent().await, 3);
    assert!(
        started.elapsed()
            >= Duration::from_secs_f64(2.0 * crate::infra::pacing::SPACING_MARGIN / 5.0),
        "paced at 5/s by the instance alone"
    );
}
