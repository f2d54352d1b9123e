use super::*;

#[test]
fn record_ids_are_scoped_digests() {
    let a = record_id("iam:arn:a", "k-1");
    assert_eq!(a.len(), 64);
    assert_ne!(a, record_id("iam:arn:b", "k-1"));
    assert_ne!(record_id("ab", "c"), record_id("a", "bc"));
    assert!(!a.contains("k-1"));
}
