//! Idempotency records in DynamoDB: a table with partition key `id` (string) and TTL on
//! `expires_at`. Every write is conditional, so that two invocations never both own a key.

use super::store::{Change, IdempotencyStore, Record, State};
use crate::infra::aws::Aws;
use crate::infra::dynamo::{conditional, n, number, s, text, Item, Table};
use crate::infra::records::StoreResult;
use std::sync::Arc;

/// The idempotency table.
pub struct Dynamo {
    table: Table,
}

impl Dynamo {
    pub fn new(table: String, aws: Arc<Aws>) -> Self {
        Dynamo {
            table: Table::new(table, aws),
        }
    }
}

impl IdempotencyStore for Dynamo {
    fn put_new<'a>(&'a self, record: &'a Record, now: u64) -> StoreResult<'a, bool> {
        Box::pin(async move {
            let mut put = self
                .table
                .client()
                .await
                .put_item()
                .table_name(&self.table.name)
                .item("id", s(&record.id))
                .item("fingerprint", s(&record.fingerprint))
                .item("owner", s(&record.owner))
                .item("lease_until", n(record.lease_until))
                .item("expires_at", n(record.expires_at))
                .item("v", n(super::store::VERSION));
            if let Some(state) = record.state {
                put = put.item("state", s(state.as_str()));
            }
            // DynamoDB's TTL deletes expired records only eventually: until then an expired
            // record counts as absent.
            let result = put
                .condition_expression("attribute_not_exists(id) OR expires_at < :now")
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            conditional("PutItem", result)
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreResult<'a, Option<Record>> {
        Box::pin(async move {
            let item = self.table.item(id).await?;
            Ok(item.as_ref().map(|item| read(id, item)))
        })
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        change: &'a Change,
    ) -> StoreResult<'a, bool> {
        Box::pin(async move {
            let mut update = self
                .table
                .update(id)
                .await
                .condition_expression("#o = :owner")
                .expression_attribute_names("#o", "owner")
                .expression_attribute_names("#s", "state")
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":state", s(change.state.as_str()))
                .expression_attribute_values(":lease", n(change.lease_until))
                .expression_attribute_values(":exp", n(change.expires_at));
            let mut set = "SET #s = :state, lease_until = :lease, expires_at = :exp".to_string();
            if let Some((status, answer)) = &change.answer {
                set.push_str(", http_status = :status, answer = :answer, v = :v");
                update = update
                    .expression_attribute_values(":status", n(u64::from(*status)))
                    .expression_attribute_values(":answer", s(answer))
                    .expression_attribute_values(":v", n(super::store::VERSION));
            }
            let result = update.update_expression(set).send().await;
            conditional("UpdateItem", result)
        })
    }

    fn delete<'a>(&'a self, id: &'a str, owner: &'a str) -> StoreResult<'a, bool> {
        Box::pin(async move {
            let result = self
                .table
                .client()
                .await
                .delete_item()
                .table_name(&self.table.name)
                .key("id", s(id))
                .condition_expression("#o = :owner")
                .expression_attribute_names("#o", "owner")
                .expression_attribute_values(":owner", s(owner))
                .send()
                .await;
            conditional("DeleteItem", result)
        })
    }
}

fn read(id: &str, item: &Item) -> Record {
    Record {
        id: id.to_string(),
        fingerprint: text(item, "fingerprint").unwrap_or_default().to_string(),
        owner: text(item, "owner").unwrap_or_default().to_string(),
        state: text(item, "state").and_then(State::parse),
        lease_until: number(item, "lease_until").unwrap_or(0),
        expires_at: number(item, "expires_at").unwrap_or(0),
        http_status: number(item, "http_status").and_then(|n| u16::try_from(n).ok()),
        answer: text(item, "answer").map(str::to_string),
        version: number(item, "v"),
    }
}
