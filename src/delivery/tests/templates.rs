//! Meta's template notifications (docs/statuses.md, "Template notifications"): each verified
//! one is an event of its own, `WhatsApp template status`, and with the table a repeat
//! publishes nothing.

use super::*;

fn notification(field: &str, value: Value) -> String {
    json!({"entry": [{"id": "102290129340398", "time": 1751247548,
                      "changes": [{"value": value, "field": field}]}],
           "object": "whatsapp_business_account"})
    .to_string()
}

fn approved() -> String {
    notification(
        "message_template_status_update",
        json!({"event": "APPROVED", "message_template_id": 1689556908129832_u64,
               "message_template_name": "order_confirmation", "message_template_language": "en-US",
               "reason": "NONE", "message_template_category": "UTILITY"}),
    )
}

fn recategorized() -> String {
    notification(
        "template_category_update",
        json!({"message_template_id": 278077987957091_u64, "message_template_name": "welcome_template",
               "message_template_language": "en-US", "previous_category": "UTILITY",
               "new_category": "MARKETING"}),
    )
}

fn template_events(h: &Harness) -> Vec<Value> {
    let sources = h.bus.sources.lock().unwrap().clone();
    h.events()
        .into_iter()
        .zip(sources)
        .filter(|(_, source)| *source == crate::infra::events::TEMPLATE_SOURCE)
        .map(|(event, _)| event)
        .collect()
}

#[tokio::test]
async fn each_template_notification_is_one_event_and_with_the_table_a_repeat_is_none() {
    let h = harness(true);
    for body in [approved(), recategorized(), approved(), recategorized()] {
        let received = h.meta(&body).await.unwrap();
        assert_eq!(received.statuses, 0);
    }
    let events = template_events(&h);
    assert_eq!(events.len(), 2, "a repeat publishes nothing: {events:?}");
    let approved = &events[0];
    assert_eq!(
        (
            approved["template"].as_str(),
            approved["template_id"].as_str(),
            approved["language"].as_str(),
            approved["status"].as_str(),
            approved["category"].as_str(),
            approved["reason"].as_str(),
        ),
        (
            Some("order_confirmation"),
            Some("1689556908129832"),
            Some("en-US"),
            Some("APPROVED"),
            Some("UTILITY"),
            Some("NONE")
        )
    );
    assert_eq!(approved["previous_status"], Value::Null);
    assert_eq!(approved["occurred_at"], "2025-06-30T01:39:08Z");
    assert_eq!(approved["provider"], "meta");
    let moved = &events[1];
    assert_eq!(
        (
            moved["category"].as_str(),
            moved["previous_category"].as_str()
        ),
        (Some("MARKETING"), Some("UTILITY"))
    );
    assert_ne!(approved["event_id"], moved["event_id"]);
}

#[tokio::test]
async fn without_the_table_every_template_notification_is_published_with_its_stable_id() {
    let h = harness(false);
    h.meta(&approved()).await.unwrap();
    h.meta(&approved()).await.unwrap();
    let events = template_events(&h);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["event_id"], events[1]["event_id"]);
}

#[tokio::test]
async fn an_impending_recategorization_and_a_quality_change_say_what_comes() {
    let h = harness(false);
    let impending = notification(
        "template_category_update",
        json!({"message_template_id": 278077987957091_u64, "message_template_name": "welcome_template",
               "message_template_language": "en-US", "new_category": "UTILITY",
               "correct_category": "MARKETING", "category_update_timestamp": 1746169200}),
    );
    let quality = notification(
        "message_template_quality_update",
        json!({"previous_quality_score": "GREEN", "new_quality_score": "YELLOW",
               "message_template_id": 806312974732579_u64, "message_template_name": "welcome_template",
               "message_template_language": "en-US"}),
    );
    let unreadable = notification("message_template_status_update", json!({"event": "PAUSED"}));
    for body in [impending, quality] {
        h.meta(&body).await.unwrap();
    }
    assert_eq!(h.meta(&unreadable).await.unwrap().unreadable.len(), 1);
    let events = template_events(&h);
    assert_eq!(
        (
            events[0]["category"].as_str(),
            events[0]["previous_category"].as_str(),
            events[0]["reason"].as_str()
        ),
        (Some("MARKETING"), Some("UTILITY"), Some("IMPENDING"))
    );
    assert_eq!(
        (
            events[1]["status"].as_str(),
            events[1]["previous_status"].as_str()
        ),
        (Some("YELLOW"), Some("GREEN"))
    );
}
