//! Each limit kept by every instance together, through one DynamoDB item per limit
//! (docs/configuration.md, "Rate limits"; the design and its measurements are in
//! docs/performance.md, "One limit across instances"). The item holds the limit's next free
//! slot (`next_us`, epoch microseconds): an instance takes a block of consecutive slots,
//! one for each of its sends waiting on that limit, with one conditional `UpdateItem`:
//!
//! - while the limit has a backlog (`next_us` not before now), the block is appended to it
//!   (`SET next_us = next_us + :span`), on the condition that its last slot comes before the
//!   send's latest start: no read first, and no conflict between instances, however many;
//! - when it has none, the block starts now (or, where writes are slow, when the write will
//!   have answered, so that its first slot is not already late), on the condition that
//!   `next_us` is past (`SET next_us = :end`): an idle limit never hands out a burst of past
//!   slots.
//!
//! A condition that fails answers the item as it is (`ReturnValuesOnConditionCheckFailure`),
//! which says which form to try next or how long until the next free slot (`Retry-After`).
//! Slots of a block not used by the send they were taken for serve the instance's next
//! sends. The item is named by a digest of the provider and its pacing key, and expires by
//! TTL minutes after its last slot.

use super::limiter::{Limits, RateLimiter, Refusal, Slot, Taken, LATE_ALLOWANCE};
use crate::infra::aws::Aws;
use crate::infra::dynamo::{failed, n, number, Item, Table};
use crate::infra::epoch_us;
use crate::infra::records::StoreError;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use futures_util::future::BoxFuture;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Shared slots are spaced as the instance's own are (`SPACING_MARGIN`, 8% wider than
/// `1 / rate`), so that the jitter between a slot and its request's arrival at the provider
/// (timers, scheduling, the network, the clocks of different instances) cannot squeeze one
/// more send into a one-second window: 80 ms in every second. The most a queue can reach is
/// then 1 / 1.08 of the limit (92.6%).
use super::memory::SPACING_MARGIN;

/// How long a limit's item outlives its last slot before DynamoDB's TTL removes it.
const ITEM_LIFETIME: Duration = Duration::from_secs(300);

/// How long an instance that appended to a backlog assumes the limit is still busy: its own
/// view of `next_us` is only the end of its last block, which other instances have moved on
/// since, so at the limit the append form is the right first try (a wrong guess costs one
/// refused write, as the other form's would).
const BUSY_MEMORY: Duration = Duration::from_secs(10);

/// Writes tried for one block before the table counts as unavailable: each failed condition
/// answers the item as it is, so the second write is an informed one; a third is for a
/// backlog that ended in between.
const WRITES_PER_BLOCK: usize = 3;

pub struct SharedLimit {
    table: Table,
    /// Each paced provider's slot spacing, in microseconds.
    spacing: HashMap<&'static str, u64>,
    /// Each limit's slots taken by this instance and not yet used, by `pace_id`.
    pools: Mutex<HashMap<[u8; 32], Arc<Pool>>>,
}

/// One limit's slots held by this instance.
#[derive(Default)]
struct Pool {
    /// Slots (epoch microseconds) taken from the table and not yet handed out, in order.
    slots: Mutex<VecDeque<u64>>,
    /// The item's `next_us` as last seen, to choose the form of the next write.
    next_us: AtomicU64,
    /// How long the last write took, in microseconds: how far ahead an idle limit's block
    /// starts.
    write_us: AtomicU64,
    /// When this instance last appended to a backlog (epoch microseconds).
    appended_us: AtomicU64,
    /// One write at a time per limit: sends that arrive meanwhile wait for it and are
    /// served by its block or by the next.
    writing: tokio::sync::Mutex<()>,
    waiting: AtomicUsize,
}

impl SharedLimit {
    pub fn new(table: String, aws: Arc<Aws>, limits: &Limits) -> Self {
        SharedLimit {
            table: Table::new(table, aws),
            spacing: limits
                .iter()
                .map(|(provider, rate)| (*provider, spacing_us(*rate)))
                .collect(),
            pools: Mutex::default(),
        }
    }

    fn pool(&self, pace: [u8; 32]) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if pools.len() >= super::memory::MAX_KEYS && !pools.contains_key(&pace) {
            // A limit with no slot waiting costs nothing to forget: the table keeps it.
            pools.retain(|_, pool| Arc::strong_count(pool) > 1 || !pool.is_empty());
        }
        pools.entry(pace).or_default().clone()
    }

    async fn take_slot(&self, spacing: u64, pace: [u8; 32], latest: Instant) -> Taken {
        let pool = self.pool(pace);
        pool.waiting.fetch_add(1, Ordering::SeqCst);
        let _writing = pool.writing.lock().await;
        pool.waiting.fetch_sub(1, Ordering::SeqCst);
        let allowance = LATE_ALLOWANCE.as_micros() as u64;
        for writes in 0..=WRITES_PER_BLOCK {
            let now = epoch_us();
            let latest_us =
                now + latest.saturating_duration_since(Instant::now()).as_micros() as u64;
            if let Some(at) = pool.pop(now.saturating_sub(allowance), latest_us) {
                return Ok(slot(pace, at));
            }
            if writes == WRITES_PER_BLOCK {
                break;
            }
            // One slot for this send and one for each send of the instance waiting behind it.
            let wanted = 1 + pool.waiting.load(Ordering::SeqCst) as u64;
            let block = self
                .write(&pool, pace, spacing, wanted, now, latest_us)
                .await?;
            // A write slow enough to leave its first slot behind (an idle limit's block
            // starts when the write is sent) is served by the block's next slots, or by the
            // next write: a slot is never used late.
            pool.extend((0..block.count).map(|i| block.start + i * spacing));
        }
        Err(Refusal::Unavailable(StoreError {
            operation: "UpdateItem",
            reason: "answered too late for its slots to be used".into(),
        }))
    }

    /// Takes up to `wanted` consecutive slots from the table, none after `latest_us`.
    async fn write(
        &self,
        pool: &Pool,
        pace: [u8; 32],
        spacing: u64,
        wanted: u64,
        now: u64,
        latest_us: u64,
    ) -> Result<Block, Refusal> {
        let id = hex::encode(pace);
        let mut next = pool.next_us.load(Ordering::SeqCst);
        let appended = pool.appended_us.load(Ordering::SeqCst);
        let mut busy =
            appended > 0 && now.saturating_sub(appended) < BUSY_MEMORY.as_micros() as u64;
        let allowance = LATE_ALLOWANCE.as_micros() as u64;
        for _ in 0..WRITES_PER_BLOCK {
            // Ahead by the last write's time only where writes are slow enough to matter
            // (over half the allowance); DynamoDB's few milliseconds are not waited for.
            let lead = match pool.write_us.load(Ordering::SeqCst) {
                slow if slow > allowance / 2 => slow.min(allowance),
                _ => 0,
            };
            let backlog = next >= now || busy;
            let start = if backlog { next.max(now) } else { now + lead };
            // How many slots fit between the block's start and the latest start.
            let fit = match latest_us.checked_sub(start) {
                Some(room) => room / spacing + 1,
                None => return Err(Refusal::NoSlotInTime(wait(start, now))),
            };
            let count = wanted.min(fit);
            let span = count * spacing;
            let expires = (start + span) / 1_000_000 + ITEM_LIFETIME.as_secs();
            let update = self
                .table
                .update(&id)
                .await
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":exp", n(expires))
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            let update = match backlog {
                true => update
                    .update_expression("SET next_us = next_us + :span, expires_at = :exp")
                    .condition_expression("next_us BETWEEN :now AND :last")
                    .expression_attribute_values(":span", n(span))
                    .expression_attribute_values(":last", n(latest_us - (count - 1) * spacing)),
                false => update
                    .update_expression("SET next_us = :end, expires_at = :exp")
                    .condition_expression("attribute_not_exists(next_us) OR next_us < :now")
                    .expression_attribute_values(":end", n(start + span)),
            };
            let sent = Instant::now();
            let answer = update.send().await;
            pool.write_us
                .store(sent.elapsed().as_micros() as u64, Ordering::SeqCst);
            match answer {
                Ok(output) => {
                    let end = output
                        .attributes()
                        .and_then(|item| number(item, "next_us"))
                        .ok_or_else(unreadable)?;
                    pool.next_us.store(end, Ordering::SeqCst);
                    if backlog {
                        pool.appended_us.store(now, Ordering::SeqCst);
                    }
                    return Ok(Block {
                        start: end.saturating_sub(span),
                        count,
                    });
                }
                // The item as it is: the next form is chosen on it alone.
                Err(error) => (next, busy) = (item_now(error)?, false),
            }
            pool.next_us.store(next, Ordering::SeqCst);
        }
        Err(Refusal::Unavailable(StoreError {
            operation: "UpdateItem",
            reason: "kept changing under this instance's writes".into(),
        }))
    }
}

impl RateLimiter for SharedLimit {
    fn take<'a>(
        &'a self,
        provider: &'static str,
        pace: [u8; 32],
        latest: Instant,
    ) -> BoxFuture<'a, Taken> {
        Box::pin(async move {
            match self.spacing.get(provider) {
                Some(spacing) => self.take_slot(*spacing, pace, latest).await,
                None => Ok(Slot::now(pace)),
            }
        })
    }

    fn give_back(&self, slot: &Slot) {
        let pool = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&slot.pace)
            .cloned();
        if let Some(pool) = pool.filter(|_| slot.epoch_us > epoch_us()) {
            pool.extend([slot.epoch_us]);
        }
    }
}

/// Consecutive slots taken with one write.
struct Block {
    start: u64,
    count: u64,
}

impl Pool {
    /// The first slot not yet past, if it comes before `latest_us`; past ones are dropped.
    fn pop(&self, now: u64, latest_us: u64) -> Option<u64> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        while slots.front().is_some_and(|at| *at < now) {
            slots.pop_front();
        }
        slots.front().filter(|at| **at <= latest_us)?;
        slots.pop_front()
    }

    fn extend(&self, more: impl IntoIterator<Item = u64>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.extend(more);
        slots.make_contiguous().sort_unstable();
    }

    fn is_empty(&self) -> bool {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }
}

/// The item's `next_us` as a failed condition found it (0 without an item), or the failure.
fn item_now<R>(error: SdkError<UpdateItemError, R>) -> Result<u64, Refusal>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &error {
        if let UpdateItemError::ConditionalCheckFailedException(refused) = service.err() {
            let item: Option<&Item> = refused.item();
            return Ok(item.and_then(|item| number(item, "next_us")).unwrap_or(0));
        }
    }
    Err(Refusal::Unavailable(failed("UpdateItem", &error)))
}

fn unreadable() -> Refusal {
    Refusal::Unavailable(StoreError {
        operation: "UpdateItem",
        reason: "answered without the limit's next slot".into(),
    })
}

/// A slot at epoch microseconds `at_us`, on this process's clock.
fn slot(pace: [u8; 32], at_us: u64) -> Slot {
    let (now, now_us) = (Instant::now(), epoch_us());
    let past = Duration::from_micros(now_us.saturating_sub(at_us));
    Slot {
        at: now.checked_sub(past).unwrap_or(now) + wait(at_us, now_us),
        pace,
        epoch_us: at_us,
    }
}

fn wait(at_us: u64, now_us: u64) -> Duration {
    Duration::from_micros(at_us.saturating_sub(now_us))
}

/// Microseconds between two of a limit's slots.
fn spacing_us(per_second: f64) -> u64 {
    ((SPACING_MARGIN * 1_000_000.0 / per_second) as u64).max(1)
}
