//! What the DynamoDB stores share (idempotency records, status records): a table on the
//! instance's one client (`Aws::dynamodb`, built on first use); attribute values; and the
//! one reading of a failed call.

use super::aws::{describe, Aws};
use super::records::StoreError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::sync::Arc;

pub type Item = HashMap<String, AttributeValue>;

/// One table, on the instance's DynamoDB client.
pub struct Table {
    pub name: String,
    aws: Arc<Aws>,
}

impl Table {
    pub fn new(name: String, aws: Arc<Aws>) -> Self {
        Table { name, aws }
    }

    pub async fn client(&self) -> &Client {
        self.aws.dynamodb().await
    }

    /// An `UpdateItem` of the item of partition key `id`, to be completed.
    pub async fn update(&self, id: &str) -> UpdateItemFluentBuilder {
        self.client()
            .await
            .update_item()
            .table_name(&self.name)
            .key("id", s(id))
    }

    /// The item of partition key `id`, read consistently.
    pub async fn item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client()
            .await
            .get_item()
            .table_name(&self.name)
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed("GetItem", &e))?;
        Ok(output.item().cloned())
    }
}

/// A call that failed, logged with its cause; the error says only what a caller may see.
pub fn failed<E, R>(operation: &'static str, error: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let reason = describe(error);
    tracing::warn!(operation, error = %reason, cause = %super::telemetry::chain(error), "DynamoDB call failed");
    StoreError { operation, reason }
}

/// A conditional write: `true` when written, `false` when its condition was false.
pub fn conditional<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    written(operation, result).map(|output| output.is_some())
}

/// A conditional write's output when written, `None` when its condition was false.
pub fn written<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(None),
        Err(e) => Err(failed(operation, &e)),
    }
}

pub fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

pub fn n(number: u64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

pub fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

pub fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}
