//! What a webhook cannot do to a record or to a POST: a stale status changes nothing, one
//! status that cannot be read or handled is its own, words and fields are bounded, and a
//! status may name its recipient by a business-scoped user id.

use super::*;
use crate::infra::epoch_secs;

const DAY: u64 = 86_400;

/// A Meta status of `id` saying `word` at `timestamp`, with `extra` fields.
fn status(id: &str, word: &str, timestamp: u64, extra: Value) -> Value {
    let mut status = json!({"id": id, "status": word, "timestamp": timestamp.to_string()});
    for (name, value) in extra.as_object().into_iter().flatten() {
        status[name] = value.clone();
    }
    status
}

fn recipient() -> Value {
    json!({"recipient_id": "16505551234"})
}

/// A Meta webhook body of `statuses`.
fn body(statuses: Vec<Value>) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"value": {"messaging_product": "whatsapp", "statuses": statuses},
                     "field": "messages"}]}]})
    .to_string()
}

fn message_ids(h: &Harness) -> Vec<String> {
    h.events()
        .iter()
        .map(|e| e["message_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_status_nine_days_old_changes_nothing_and_one_seven_days_old_is_published() {
    let h = harness_aged(true, 691_200);
    let now = epoch_secs();
    let old = body(vec![status(
        "wamid.OLD",
        "delivered",
        now - 9 * DAY,
        recipient(),
    )]);
    let received = h.meta(&old).await.unwrap();
    assert_eq!((received.stale, received.published), (1, 0));
    assert!(h.events().is_empty(), "nothing published");
    let record = h.tracker.status("meta", "wamid.OLD", soon()).await.unwrap();
    assert!(record.is_none(), "nothing stored");
    let recent = body(vec![status(
        "wamid.NEW",
        "delivered",
        now - 7 * DAY,
        recipient(),
    )]);
    let received = h.meta(&recent).await.unwrap();
    assert_eq!((received.stale, received.published), (0, 1));
    assert_eq!(message_ids(&h), ["wamid.NEW"]);
}

#[tokio::test]
async fn one_unreadable_or_panicking_status_leaves_the_others_of_the_post_published() {
    for with_table in [true, false] {
        let h = harness(with_table);
        h.store.panic_on("wamid.PANICS");
        let now = epoch_secs();
        let post = body(vec![
            status("wamid.A", "sent", now, recipient()),
            json!({"status": "sent", "timestamp": now.to_string()}),
            status("wamid.PANICS", "sent", now, recipient()),
            status("wamid.B", "delivered", now, recipient()),
        ]);
        let received = h.meta(&post).await.unwrap();
        let handled = if with_table { 2 } else { 3 };
        assert_eq!(received.published, handled, "with the table: {with_table}");
        assert_eq!(received.unreadable.len(), 4 - handled);
        assert!(message_ids(&h).contains(&"wamid.B".to_string()));
    }
}

#[test]
fn a_status_whose_reading_panics_is_counted_unreadable_and_the_others_are_kept() {
    let mut found = crate::domain::status::Notifications::default();
    found.read(|| panic!("a bug in reading one status"));
    found.read(|| Err("a status without id"));
    assert_eq!(found.unreadable.len(), 2);
    assert_eq!(found.unreadable[0], "reading the status panicked");
}

#[tokio::test]
async fn twenty_five_status_words_leave_a_history_of_twenty_the_first_and_the_latest() {
    let h = harness(true);
    let now = epoch_secs();
    for i in 0..25 {
        let word = format!("word{i}");
        let post = body(vec![status("wamid.W", &word, now + i, recipient())]);
        h.meta(&post).await.unwrap();
    }
    let record = h.tracker.status("meta", "wamid.W", soon()).await;
    let history = record.unwrap().unwrap().history;
    assert_eq!(history.len(), 20);
    assert_eq!(history[0].provider_status, "word0", "the first kept");
    assert_eq!(history[19].provider_status, "word24", "the latest kept");
    assert_eq!(h.events().len(), 25, "each word published once");
}

#[tokio::test]
async fn a_ten_kilobyte_recipient_id_and_message_id_are_bounded_in_the_event_and_the_record() {
    let h = harness(true);
    let long_id = format!("wamid.{}", "A".repeat(10_000));
    let post = body(vec![status(
        &long_id,
        "sent",
        epoch_secs(),
        json!({"recipient_id": "1".repeat(10_000), "recipient_user_id": "U".repeat(10_000),
               "biz_opaque_callback_data": "r".repeat(10_000)}),
    )]);
    h.meta(&post).await.unwrap();
    let event = &h.events()[0];
    assert!(event.to_string().len() < 2_000, "the event is bounded");
    assert!(event["to"].as_str().unwrap().len() <= 16);
    let id = event["message_id"].as_str().unwrap();
    let record = h.tracker.status("meta", id, soon()).await.unwrap().unwrap();
    assert!(record.to.unwrap().len() <= 16);
    assert!(record.recipient_user_id.unwrap().len() <= 256);
    assert!(record.client_reference.unwrap().len() <= 256);
}

#[tokio::test]
async fn a_status_naming_its_recipient_by_a_business_scoped_user_id_has_no_to() {
    let h = harness(true);
    let user = json!({"recipient_user_id": "US.13491208655302741918"});
    let post = body(vec![status("wamid.BSUID", "delivered", epoch_secs(), user)]);
    assert_eq!(h.meta(&post).await.unwrap().published, 1);
    let event = &h.events()[0];
    assert_eq!(event["to"], Value::Null);
    assert_eq!(event["recipient_user_id"], "US.13491208655302741918");
    let record = h.tracker.status("meta", "wamid.BSUID", soon()).await;
    let record = record.unwrap().unwrap();
    assert_eq!(
        (record.to, record.recipient_user_id.as_deref()),
        (None, Some("US.13491208655302741918"))
    );
}
