use super::*;

#[test]
fn a_lease_outlives_its_invocation_whatever_the_fractions() {
    for (now_ms, left_ms) in [(100_900, 2_500), (100_000, 0), (100_999, 999), (5, 29_999)] {
        let (now, left) = (
            Duration::from_millis(now_ms),
            Duration::from_millis(left_ms),
        );
        let deadline = now + left;
        let until = lease_after(now, left);
        // A record's lease has ended once `lease_until < epoch seconds now`.
        assert!(
            Duration::from_secs(until + 1) >= deadline + LEASE_MARGIN,
            "{now_ms} + {left_ms}: until {until}"
        );
    }
}

#[test]
fn record_ids_are_scoped_digests() {
    let a = record_id("iam:arn:a", "k-1");
    assert_eq!(a.len(), 64);
    assert_ne!(a, record_id("iam:arn:b", "k-1"));
    assert_ne!(record_id("ab", "c"), record_id("a", "bc"));
    assert!(!a.contains("k-1"));
}
