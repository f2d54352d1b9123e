//! Status records in memory: for unit tests (told to fail a given call) and local runs
//! (`STATUS_TABLE=memory`; gone when the process ends).

use super::store::{record_id, HistoryEntry, MessageStatus, Move, Moved, SentRecord, StatusStore};
use crate::infra::records::{StoreError, StoreResult};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

#[derive(Clone, Default)]
struct Kept {
    status: MessageStatus,
    rank: Option<u8>,
    seen: BTreeSet<String>,
    pending: BTreeSet<String>,
}

#[derive(Default)]
pub struct MemoryStatuses {
    records: Mutex<HashMap<String, Kept>>,
    /// Calls of these operations fail, as many times as given.
    failures: Mutex<HashMap<&'static str, usize>>,
    /// A move of this message panics, as a bug in handling one status would.
    panics_on: Mutex<Option<String>>,
}

impl MemoryStatuses {
    /// The next `times` calls of `operation` (`record_sent`, `advance`, `published`, `get`) fail.
    pub fn fail(&self, operation: &'static str, times: usize) {
        *self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(operation)
            .or_default() += times;
    }

    /// Every move of `message_id` panics.
    pub fn panic_on(&self, message_id: &str) {
        *self.panics_on.lock().unwrap_or_else(|p| p.into_inner()) = Some(message_id.into());
    }

    fn call(&self, operation: &'static str) -> Result<(), StoreError> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get_mut(operation) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(super::store::failed(operation, "was told to fail"))
            }
            _ => Ok(()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Kept>) -> T) -> T {
        f(&mut self.records.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl StatusStore for MemoryStatuses {
    fn record_sent<'a>(&'a self, record: &'a SentRecord, _expires_at: u64) -> StoreResult<'a, ()> {
        Box::pin(async move {
            self.call("record_sent")?;
            self.with(|records| {
                let kept = records
                    .entry(record_id(&record.provider, &record.message_id))
                    .or_default();
                let status = &mut kept.status;
                status.provider = record.provider.clone();
                status.message_id = record.message_id.clone();
                status.to = Some(record.to.clone());
                status.client_reference = record
                    .client_reference
                    .clone()
                    .or(status.client_reference.take());
                status.request_id = Some(record.request_id.clone());
                status.sent_at = Some(record.sent_at);
                status.sender = Some(record.sender.clone());
            });
            Ok(())
        })
    }

    fn advance<'a>(&'a self, status: &'a Move, _expires_at: u64) -> StoreResult<'a, Moved> {
        Box::pin(async move {
            self.call("advance")?;
            let panics = self
                .panics_on
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if panics.as_deref() == Some(status.message_id.as_str()) {
                panic!("the memory store was told to panic on this message");
            }
            Ok(self.with(|records| {
                let kept = records
                    .entry(record_id(&status.provider, &status.message_id))
                    .or_default();
                let forward = match status.stage.rank() {
                    Some(rank) => kept.rank.is_none_or(|now| now < rank),
                    None => {
                        !kept.seen.contains(&status.provider_status)
                            && kept.seen.len() < super::store::MAX_WORDS
                    }
                };
                if !forward {
                    return Moved::Not {
                        pending: kept.pending.contains(&status.event_id),
                        client_reference: kept.status.client_reference.clone(),
                    };
                }
                let record = &mut kept.status;
                record.provider = status.provider.clone();
                record.message_id = status.message_id.clone();
                if let Some(rank) = status.stage.rank() {
                    kept.rank = Some(rank);
                    record.status = Some(status.stage.as_str().to_string());
                }
                kept.seen.insert(status.provider_status.clone());
                kept.pending.insert(status.event_id.clone());
                record.history.push(HistoryEntry {
                    status: status.stage.as_str().to_string(),
                    provider_status: status.provider_status.clone(),
                    occurred_at: status.occurred_at,
                });
                // The first and the latest ones.
                while record.history.len() > super::store::MAX_HISTORY {
                    record.history.remove(1);
                }
                record.error = status.error.clone().or(record.error.take());
                record.pricing = status.pricing.clone().or(record.pricing.take());
                if record.client_reference.is_none() {
                    record.client_reference = status.client_reference.clone();
                }
                if record.to.is_none() {
                    record.to = status.to.clone();
                }
                if record.recipient_user_id.is_none() {
                    record.recipient_user_id = status.recipient_user_id.clone();
                }
                Moved::Forward {
                    client_reference: record.client_reference.clone(),
                }
            }))
        })
    }

    fn published<'a>(
        &'a self,
        provider: &'a str,
        message_id: &'a str,
        event_id: &'a str,
    ) -> StoreResult<'a, ()> {
        Box::pin(async move {
            self.call("published")?;
            self.with(|records| {
                if let Some(kept) = records.get_mut(&record_id(provider, message_id)) {
                    kept.pending.remove(event_id);
                }
            });
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        provider: &'a str,
        message_id: &'a str,
    ) -> StoreResult<'a, Option<MessageStatus>> {
        Box::pin(async move {
            self.call("get")?;
            Ok(self.with(|records| {
                records
                    .get(&record_id(provider, message_id))
                    .map(|k| k.status.clone())
            }))
        })
    }
}
