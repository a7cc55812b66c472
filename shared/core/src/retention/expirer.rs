//! Retention enforcement: whatever the retention clock removes takes its media object and its
//! journal object with it, and leaves an audit trail that holds no personal data.
//!
//! Two ways in: DynamoDB TTL removals (a stream of old images, typically hours to days after
//! `expires_at`), and an hourly sweep that deletes what TTL has not reached yet, so nothing
//! outlives its deadline by more than about an hour. Both are idempotent: an object already gone
//! is success, and an item deleted twice is deleted once.

use crate::archive::ArchiveObjects;
use crate::clock::Clock;
use crate::error::PortError;
use crate::metrics::Metrics;
use crate::records::{hashed_key, ItemKind};
use crate::retention::{ExpiredItem, ExpiringRecords};
use crate::retention::{ExpirySlot, RetentionPolicy};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Why an item went (the audit entry's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryReason {
    /// DynamoDB's TTL service deleted it; we clean up after it.
    Ttl,
    /// The hourly sweep deleted it because TTL had not yet.
    Sweep,
}

impl ExpiryReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryReason::Ttl => "ttl",
            ExpiryReason::Sweep => "sweep",
        }
    }
}

/// Counts of one run, for the audit summary and the response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExpiryReport {
    pub records_expired: u64,
    pub media_deleted: u64,
    pub journal_deleted: u64,
    pub bytes_freed: u64,
    /// Expiry hours the sweep read.
    pub hours_swept: u64,
}

/// How far back the first sweep of a deployment looks (TTL normally removes items within days).
pub const FIRST_SWEEP_LOOKBACK_HOURS: i64 = 7 * 24;
/// Items the sweep deletes at once, in all (as before the index was sharded).
pub const SWEEP_CONCURRENCY: usize = 16;
/// Expiry slots (shards of one hour) the sweep reads at once: a first sweep reads
/// `(FIRST_SWEEP_LOOKBACK_HOURS + 1) x EXPIRY_SHARDS` (5,408) mostly empty slots, which one at a
/// time would cost tens of seconds of round trips. Each slot deletes
/// `SWEEP_CONCURRENCY / SLOT_CONCURRENCY` items at once, so the total stays `SWEEP_CONCURRENCY`.
pub const SLOT_CONCURRENCY: usize = 8;
const DELETES_PER_SLOT: usize = SWEEP_CONCURRENCY / SLOT_CONCURRENCY;

/// The retention use case.
pub struct Expirer {
    pub records: Arc<dyn ExpiringRecords>,
    pub objects: Arc<dyn ArchiveObjects>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
}

/// Per-run state: journal objects already deleted (a batch shares one body) and the counts.
#[derive(Default)]
struct Run {
    journals_done: Mutex<HashSet<String>>,
    report: Mutex<ExpiryReport>,
}

impl Expirer {
    /// Cleans up after items TTL removed (the stream's old images), in order. On the first
    /// failure, returns the index of the item to resume from with the error: the caller reports
    /// it as the batch item failure, and the replay is harmless.
    pub async fn after_ttl_removals(
        &self,
        items: &[ExpiredItem],
    ) -> (ExpiryReport, Option<(usize, PortError)>) {
        let run = Run::default();
        let mut failure = None;
        for (index, item) in items.iter().enumerate() {
            if let Err(error) = self.clean_up(&run, item, ExpiryReason::Ttl).await {
                failure = Some((index, error));
                break;
            }
        }
        let report = self.finish(&run, ExpiryReason::Ttl);
        (report, failure)
    }

    /// Deletes every item whose `expires_at` has passed, with its media and journal, reading the
    /// expiry index hour by hour (every shard of each hour) from the checkpoint to now: the cost
    /// follows the expired items and the hours read, not the table size.
    pub async fn sweep(&self) -> Result<ExpiryReport, PortError> {
        let now = self.clock.now_epoch_seconds();
        let now_hour = RetentionPolicy::expiry_hour(now);
        let first = self
            .records
            .sweep_checkpoint()
            .await?
            .unwrap_or(now_hour - FIRST_SWEEP_LOOKBACK_HOURS)
            .min(now_hour);
        let run = Run::default();
        for hour in first..=now_hour {
            // An hour counts as swept only once every one of its shards was read to the end.
            stream::iter(ExpirySlot::all_of_hour(hour))
                .map(|slot| self.sweep_slot(&run, slot, now))
                .buffer_unordered(SLOT_CONCURRENCY)
                .try_collect::<()>()
                .await?;
            lock(&run.report).hours_swept += 1;
        }
        // Every shard of every hour before the current one is now empty of expired items; the
        // current hour still holds items that expire later in it.
        self.records.set_sweep_checkpoint(now_hour).await?;
        Ok(self.finish(&run, ExpiryReason::Sweep))
    }

    async fn sweep_slot(&self, run: &Run, slot: ExpirySlot, now: i64) -> Result<(), PortError> {
        let mut cursor = None;
        loop {
            let page = self.records.expired_in_slot(slot, now, cursor).await?;
            stream::iter(page.keys)
                .map(|key| async move {
                    match self.records.delete_if_expired(&key, now).await? {
                        Some(item) => self.clean_up(run, &item, ExpiryReason::Sweep).await,
                        None => Ok(()),
                    }
                })
                .buffer_unordered(DELETES_PER_SLOT)
                .try_collect::<()>()
                .await?;
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Deletes the item's media object and journal object, then audits the item.
    async fn clean_up(
        &self,
        run: &Run,
        item: &ExpiredItem,
        reason: ExpiryReason,
    ) -> Result<(), PortError> {
        let mut media_deleted = false;
        if let Some(key) = &item.media_key {
            self.objects.delete_all_versions(key).await?;
            media_deleted = true;
        }
        // Every item pointing at a journal object was created from that body at its arrival,
        // so they all expire with it: the first to go takes the object.
        let mut journal_deleted = false;
        if let Some(key) = &item.journal_key {
            let claimed = lock(&run.journals_done).insert(key.clone());
            if claimed {
                if let Err(error) = self.objects.delete_all_versions(key).await {
                    lock(&run.journals_done).remove(key);
                    return Err(error);
                }
                journal_deleted = true;
            }
        }
        let bytes_freed = if media_deleted { item.media_bytes } else { 0 };
        tracing::info!(
            event = "retention_audit",
            reason = reason.as_str(),
            kind = item.kind.map_or("", ItemKind::as_str),
            item = %hashed_key(&item.key),
            media_deleted,
            journal_deleted,
            bytes_freed
        );
        let mut report = lock(&run.report);
        report.records_expired += 1;
        report.media_deleted += u64::from(media_deleted);
        report.journal_deleted += u64::from(journal_deleted);
        report.bytes_freed += bytes_freed;
        Ok(())
    }

    fn finish(&self, run: &Run, reason: ExpiryReason) -> ExpiryReport {
        let report = lock(&run.report).clone();
        self.metrics.count("RecordsExpired", report.records_expired);
        self.metrics.count("MediaDeleted", report.media_deleted);
        self.metrics
            .count("JournalObjectsDeleted", report.journal_deleted);
        self.metrics.count("BytesFreed", report.bytes_freed);
        tracing::info!(
            event = "retention_run",
            reason = reason.as_str(),
            records_expired = report.records_expired,
            media_deleted = report.media_deleted,
            journal_deleted = report.journal_deleted,
            bytes_freed = report.bytes_freed,
            hours_swept = report.hours_swept
        );
        report
    }
}

/// A poisoned lock only means another cleanup panicked; the counts are still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
#[path = "tests/expirer.rs"]
mod tests;
