//! Status records in DynamoDB (`STATUS_TABLE`: partition key `id`, TTL on `expires_at`; it
//! may be the idempotency table). A status moves its record forward only through a
//! conditional `UpdateItem`, so that a repeat or a late status changes nothing.

use super::store::{
    record_id, HistoryEntry, MessageStatus, Move, Moved, SentRecord, StatusStore, MAX_HISTORY,
    MAX_WORDS,
};
use crate::infra::aws::Aws;
use crate::infra::dynamo::{failed, n, number, s, written, Item, Table};
use crate::infra::records::StoreResult;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

pub struct DynamoStatuses {
    table: Table,
}

impl DynamoStatuses {
    pub fn new(table: String, aws: Arc<Aws>) -> Self {
        DynamoStatuses {
            table: Table::new(table, aws),
        }
    }
}

impl DynamoStatuses {
    /// Drops the entries over `MAX_HISTORY` from the second on (the first and the latest
    /// kept), in one `UpdateItem`, on the condition that the history is still over.
    async fn trim(&self, id: &str, kept: usize) -> Result<(), crate::infra::records::StoreError> {
        let over = kept.saturating_sub(MAX_HISTORY);
        let removes: Vec<String> = (1..=over).map(|i| format!("#h[{i}]")).collect();
        let result = self
            .table
            .update(id)
            .await
            .update_expression(format!("REMOVE {}", removes.join(", ")))
            .condition_expression("size(#h) > :max")
            .expression_attribute_names("#h", "history")
            .expression_attribute_values(":max", n(MAX_HISTORY as u64))
            .send()
            .await;
        written("UpdateItem", result).map(|_| ())
    }
}

impl StatusStore for DynamoStatuses {
    fn record_sent<'a>(&'a self, record: &'a SentRecord, expires_at: u64) -> StoreResult<'a, ()> {
        Box::pin(async move {
            let mut update = self
                .table
                .update(&record_id(&record.provider, &record.message_id))
                .await
                .expression_attribute_names("#p", "provider")
                .expression_attribute_names("#m", "message_id")
                .expression_attribute_names("#to", "to")
                .expression_attribute_names("#rid", "request_id")
                .expression_attribute_names("#sent", "sent_at")
                .expression_attribute_names("#snd", "sender")
                .expression_attribute_values(":snd", s(&record.sender))
                .expression_attribute_names("#exp", "expires_at")
                .expression_attribute_values(":p", s(&record.provider))
                .expression_attribute_values(":m", s(&record.message_id))
                .expression_attribute_values(":to", s(&record.to))
                .expression_attribute_values(":rid", s(&record.request_id))
                .expression_attribute_values(":sent", n(record.sent_at))
                .expression_attribute_values(":exp", n(expires_at));
            let mut set =
                "SET #p = :p, #m = :m, #to = :to, #rid = :rid, #sent = :sent, #exp = :exp, #snd = :snd"
                    .to_string();
            if let Some(reference) = &record.client_reference {
                set.push_str(", #cr = :cr");
                update = update
                    .expression_attribute_names("#cr", "client_reference")
                    .expression_attribute_values(":cr", s(reference));
            }
            update
                .update_expression(set)
                .send()
                .await
                .map_err(|e| failed("UpdateItem", &e))?;
            Ok(())
        })
    }

    fn advance<'a>(&'a self, status: &'a Move, expires_at: u64) -> StoreResult<'a, Moved> {
        Box::pin(async move {
            let id = record_id(&status.provider, &status.message_id);
            let entry = AttributeValue::M(HashMap::from([
                ("status".to_string(), s(status.stage.as_str())),
                ("provider_status".to_string(), s(&status.provider_status)),
                ("occurred_at".to_string(), n(status.occurred_at)),
            ]));
            let mut update = self
                .table
                .update(&id)
                .await
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .expression_attribute_names("#p", "provider")
                .expression_attribute_names("#m", "message_id")
                .expression_attribute_names("#h", "history")
                .expression_attribute_names("#exp", "expires_at")
                .expression_attribute_names("#pend", "pending")
                .expression_attribute_names("#seen", "seen")
                .expression_attribute_values(":p", s(&status.provider))
                .expression_attribute_values(":m", s(&status.message_id))
                .expression_attribute_values(":empty", AttributeValue::L(vec![]))
                .expression_attribute_values(":entry", AttributeValue::L(vec![entry]))
                .expression_attribute_values(":exp", n(expires_at))
                .expression_attribute_values(
                    ":event",
                    AttributeValue::Ss(vec![status.event_id.clone()]),
                )
                .expression_attribute_values(
                    ":wordset",
                    AttributeValue::Ss(vec![status.provider_status.clone()]),
                );
            let mut set = "SET #p = :p, #m = :m, #h = list_append(if_not_exists(#h, :empty), :entry), #exp = if_not_exists(#exp, :exp)".to_string();
            let condition = match status.stage.rank() {
                Some(rank) => {
                    set.push_str(", #rank = :rank, #st = :st");
                    update = update
                        .expression_attribute_names("#rank", "rank")
                        .expression_attribute_names("#st", "status")
                        .expression_attribute_values(":rank", n(u64::from(rank)))
                        .expression_attribute_values(":st", s(status.stage.as_str()));
                    "attribute_not_exists(#rank) OR #rank < :rank"
                }
                None => {
                    update = update
                        .expression_attribute_values(":word", s(&status.provider_status))
                        .expression_attribute_values(":words", n(MAX_WORDS as u64));
                    "attribute_not_exists(#seen) OR (NOT contains(#seen, :word) AND size(#seen) < :words)"
                }
            };
            for (name, attribute, value) in [
                ("#err", "error", status.error.as_ref().map(Value::to_string)),
                (
                    "#pr",
                    "pricing",
                    status.pricing.as_ref().map(Value::to_string),
                ),
            ] {
                if let Some(value) = value {
                    set.push_str(&format!(", {name} = :{attribute}"));
                    update = update
                        .expression_attribute_names(name, attribute)
                        .expression_attribute_values(format!(":{attribute}"), s(&value));
                }
            }
            for (name, attribute, value) in [
                ("#cr", "client_reference", status.client_reference.as_ref()),
                ("#to", "to", status.to.as_ref()),
                (
                    "#ru",
                    "recipient_user_id",
                    status.recipient_user_id.as_ref(),
                ),
            ] {
                if let Some(value) = value {
                    set.push_str(&format!(", {name} = if_not_exists({name}, :{attribute})"));
                    update = update
                        .expression_attribute_names(name, attribute)
                        .expression_attribute_values(format!(":{attribute}"), s(value));
                }
            }
            let result = update
                .update_expression(format!("{set} ADD #pend :event, #seen :wordset"))
                .condition_expression(condition)
                .send()
                .await;
            match written("UpdateItem", result)? {
                Some(output) => {
                    let kept = output
                        .attributes()
                        .and_then(|a| a.get("history"))
                        .and_then(|h| h.as_l().ok())
                        .map_or(0, Vec::len);
                    if kept > MAX_HISTORY {
                        self.trim(&id, kept).await?;
                    }
                    Ok(Moved::Forward {
                        client_reference: output
                            .attributes()
                            .and_then(|a| text(a, "client_reference")),
                    })
                }
                None => {
                    let item = self.table.item(&id).await?.unwrap_or_default();
                    Ok(Moved::Not {
                        pending: set_of(&item, "pending").contains(&status.event_id),
                        client_reference: text(&item, "client_reference"),
                    })
                }
            }
        })
    }

    fn published<'a>(
        &'a self,
        provider: &'a str,
        message_id: &'a str,
        event_id: &'a str,
    ) -> StoreResult<'a, ()> {
        Box::pin(async move {
            self.table
                .update(&record_id(provider, message_id))
                .await
                .update_expression("DELETE #pend :event")
                .expression_attribute_names("#pend", "pending")
                .expression_attribute_values(
                    ":event",
                    AttributeValue::Ss(vec![event_id.to_string()]),
                )
                .send()
                .await
                .map_err(|e| failed("UpdateItem", &e))?;
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        provider: &'a str,
        message_id: &'a str,
    ) -> StoreResult<'a, Option<MessageStatus>> {
        Box::pin(async move {
            let Some(item) = self.table.item(&record_id(provider, message_id)).await? else {
                return Ok(None);
            };
            // DynamoDB deletes an expired item within days, not at once: until then it is
            // gone all the same.
            let now = crate::infra::epoch_secs();
            if number(&item, "expires_at").is_some_and(|at| at < now) {
                return Ok(None);
            }
            let json = |name: &str| text(&item, name).and_then(|t| serde_json::from_str(&t).ok());
            let history = item
                .get("history")
                .and_then(|h| h.as_l().ok())
                .map(|list| {
                    list.iter()
                        .filter_map(|e| e.as_m().ok())
                        .map(|e| HistoryEntry {
                            status: text(e, "status").unwrap_or_default(),
                            provider_status: text(e, "provider_status").unwrap_or_default(),
                            occurred_at: number(e, "occurred_at").unwrap_or(0),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Some(MessageStatus {
                provider: provider.to_string(),
                message_id: message_id.to_string(),
                to: text(&item, "to"),
                recipient_user_id: text(&item, "recipient_user_id"),
                client_reference: text(&item, "client_reference"),
                request_id: text(&item, "request_id"),
                sent_at: number(&item, "sent_at"),
                sender: text(&item, "sender"),
                status: text(&item, "status"),
                error: json("error"),
                pricing: json("pricing"),
                history,
            }))
        })
    }
}

fn text(item: &Item, name: &str) -> Option<String> {
    crate::infra::dynamo::text(item, name).map(str::to_string)
}

fn set_of(item: &Item, name: &str) -> Vec<String> {
    item.get(name)
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default()
}
