//! A bus in memory, for unit tests: it keeps what was put, and can be told to refuse
//! entries or whole calls.

use super::bus::{BusEvent, EventBus};
use crate::infra::records::{StoreError, StoreResult};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct MemoryBus {
    /// The details put, of every source, in order.
    pub events: Mutex<Vec<String>>,
    /// The source of each of `events`.
    pub sources: Mutex<Vec<&'static str>>,
    /// This many entries are refused, one by one, then the rest are taken.
    pub refuse_entries: Mutex<usize>,
    /// This many calls fail whole.
    pub refuse_calls: Mutex<usize>,
    /// The number of entries of each call, in order.
    pub calls: Mutex<Vec<usize>>,
    /// How long each call takes (none by default).
    pub call_time: Mutex<Duration>,
    /// The most calls that were in flight at once.
    pub most_in_flight: AtomicUsize,
    in_flight: AtomicUsize,
}

impl EventBus for MemoryBus {
    fn put<'a>(&'a self, details: &'a [BusEvent]) -> StoreResult<'a, Vec<bool>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(details.len());
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            let call_time = *self.call_time.lock().unwrap_or_else(|p| p.into_inner());
            tokio::time::sleep(call_time).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut calls = self.refuse_calls.lock().unwrap_or_else(|p| p.into_inner());
            if *calls > 0 {
                *calls -= 1;
                return Err(StoreError {
                    operation: "PutEvents",
                    reason: "was told to fail".into(),
                });
            }
            let mut refuse = self
                .refuse_entries
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
            let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
            Ok(details
                .iter()
                .map(|event| {
                    if *refuse > 0 {
                        *refuse -= 1;
                        return false;
                    }
                    events.push(event.detail.clone());
                    sources.push(event.source);
                    true
                })
                .collect())
        })
    }
}
