//! Idempotency records in memory, for unit tests of the pipeline's rules: it can be told to
//! fail a given call, as DynamoDB throttling or an outage would.

use super::store::{Change, IdempotencyStore, Record, State};
use crate::infra::records::{StoreError, StoreResult};
use std::collections::HashMap;
use std::sync::Mutex;

/// A store call, for `Memory::fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Put,
    Get,
    /// An update to this state.
    Update(State),
    Delete,
}

#[derive(Default)]
pub struct Memory {
    records: Mutex<HashMap<String, Record>>,
    failures: Mutex<HashMap<Operation, usize>>,
    calls: Mutex<Vec<Operation>>,
}

impl Memory {
    /// The next `times` calls of `operation` fail (and change nothing).
    pub fn fail(&self, operation: Operation, times: usize) {
        *lock(&self.failures).entry(operation).or_default() += times;
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<Operation> {
        lock(&self.calls).clone()
    }

    pub fn record(&self, id: &str) -> Option<Record> {
        lock(&self.records).get(id).cloned()
    }

    pub fn insert(&self, record: Record) {
        lock(&self.records).insert(record.id.clone(), record);
    }

    fn call(&self, operation: Operation) -> Result<(), StoreError> {
        lock(&self.calls).push(operation);
        let mut failures = lock(&self.failures);
        match failures.get_mut(&operation) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(StoreError {
                    operation: "memory",
                    reason: format!("{operation:?} was told to fail"),
                })
            }
            _ => Ok(()),
        }
    }

    fn owned_by(&self, id: &str, owner: &str) -> bool {
        lock(&self.records)
            .get(id)
            .is_some_and(|r| r.owner == owner)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl IdempotencyStore for Memory {
    fn put_new<'a>(&'a self, record: &'a Record, now: u64) -> StoreResult<'a, bool> {
        Box::pin(async move {
            self.call(Operation::Put)?;
            let mut records = lock(&self.records);
            if records.get(&record.id).is_some_and(|r| r.expires_at >= now) {
                return Ok(false);
            }
            records.insert(record.id.clone(), record.clone());
            Ok(true)
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreResult<'a, Option<Record>> {
        Box::pin(async move {
            self.call(Operation::Get)?;
            Ok(self.record(id))
        })
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        change: &'a Change,
    ) -> StoreResult<'a, bool> {
        Box::pin(async move {
            self.call(Operation::Update(change.state))?;
            if !self.owned_by(id, owner) {
                return Ok(false);
            }
            let mut records = lock(&self.records);
            let Some(record) = records.get_mut(id) else {
                return Ok(false);
            };
            record.state = Some(change.state);
            record.lease_until = change.lease_until;
            record.expires_at = change.expires_at;
            if let Some((status, answer)) = &change.answer {
                record.http_status = Some(*status);
                record.answer = Some(answer.clone());
                record.version = Some(super::store::VERSION);
            }
            Ok(true)
        })
    }

    fn delete<'a>(&'a self, id: &'a str, owner: &'a str) -> StoreResult<'a, bool> {
        Box::pin(async move {
            self.call(Operation::Delete)?;
            if !self.owned_by(id, owner) {
                return Ok(false);
            }
            Ok(lock(&self.records).remove(id).is_some())
        })
    }
}
