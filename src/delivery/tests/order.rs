//! With the status table: forward moves only, the send's reference on each, statuses
//! before their send, and events stored but never published.

use super::*;

#[tokio::test]
async fn with_the_table_only_forward_moves_are_published_and_they_carry_the_sends_reference() {
    let h = harness(true);
    let record = SentRecord {
        provider: "meta".into(),
        message_id: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QjFBMjQ0QzdGRjA2ODNCOEUA".into(),
        to: "+1******1234".into(),
        client_reference: Some("order-from-the-send".into()),
        request_id: "r-1".into(),
        sent_at: 1_764_497_044,
        sender: crate::infra::statuses::sender_of("test"),
    };
    h.tracker.record_sent(&record, soon()).await;
    for name in [
        "meta-read.json",
        "meta-sent.json",
        "meta-delivered.json",
        "meta-read.json",
    ] {
        h.meta(&fixture(name)).await.unwrap();
    }
    let events = h.events();
    let words: Vec<&str> = events
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        ["read"],
        "read first; sent, delivered and the repeat are late"
    );
    assert_eq!(events[0]["client_reference"], "order-from-the-send");
    let status = h
        .tracker
        .status("meta", &record.message_id, soon())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.status.as_deref(), Some("read"));
    assert_eq!(status.history.len(), 1);
    // Without the table, every status is published, each time with the same id.
    let open = harness(false);
    open.meta(&fixture("meta-sent.json")).await.unwrap();
    open.meta(&fixture("meta-sent.json")).await.unwrap();
    let events = open.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["event_id"], events[1]["event_id"]);
}

#[tokio::test]
async fn a_status_stored_but_never_published_is_published_when_it_comes_again() {
    let h = harness(true);
    *h.bus.refuse_calls.lock().unwrap() = 1000;
    let error = h.meta(&fixture("meta-sent.json")).await.unwrap_err();
    assert_eq!(error.code, Code::StatusUnavailable);
    *h.bus.refuse_calls.lock().unwrap() = 0;
    let again = h.meta(&fixture("meta-sent.json")).await.unwrap();
    assert_eq!((again.published, again.duplicates), (1, 0));
    let repeat = h.meta(&fixture("meta-sent.json")).await.unwrap();
    assert_eq!(
        (repeat.published, repeat.duplicates),
        (0, 1),
        "now published, a repeat is a duplicate"
    );
    // A table that cannot be written: 503, nothing published.
    let broken = harness(true);
    broken.store.fail("advance", 1);
    assert_eq!(
        broken
            .meta(&fixture("meta-sent.json"))
            .await
            .unwrap_err()
            .code,
        Code::StatusUnavailable
    );
    assert!(broken.events().is_empty());
}

#[tokio::test]
async fn a_status_before_its_send_still_moves_the_record_which_the_send_completes() {
    let h = harness(true);
    h.meta(&fixture("meta-delivered.json")).await.unwrap();
    let id = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QjFBMjQ0QzdGRjA2ODNCOEUA";
    let record = SentRecord {
        provider: "meta".into(),
        message_id: id.into(),
        to: "+1******1234".into(),
        client_reference: Some("order-8812".into()),
        request_id: "r-2".into(),
        sent_at: 1_764_497_050,
        sender: crate::infra::statuses::sender_of("test"),
    };
    h.tracker.record_sent(&record, soon()).await;
    let status = h.tracker.status("meta", id, soon()).await.unwrap().unwrap();
    assert_eq!(
        (
            status.status.as_deref(),
            status.request_id.as_deref(),
            status.history.len()
        ),
        (Some("delivered"), Some("r-2"), 1)
    );
    assert_eq!(h.events().len(), 1);
}
