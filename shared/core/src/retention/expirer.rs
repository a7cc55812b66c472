//! Retention enforcement: whatever the retention clock removes takes its media object and its
//! journal object with it, and leaves an audit trail that holds no personal data.
//!
//! Two ways in: DynamoDB TTL removals (a stream of old images, typically hours to days after
//! `expires_at`), and an hourly sweep that deletes what TTL has not reached yet, so nothing
//! outlives its deadline by more than about an hour. Both are idempotent: an object already gone
//! is success, and an item deleted twice is deleted once.
//!
//! Nothing is orphaned: the sweep deletes an item's objects before the item, so until they are
//! gone the item stays in the table and in the expiry index, and the next sweep (or TTL's
//! cleanup) finds it again; its checkpoint never moves past an hour it could not clean in full.
//! TTL removes the item first (it is DynamoDB's doing); there the stream record is what stays:
//! a failure is reported as the batch item failure, retried, and at last sent to the on-failure
//! queue.

use crate::archive::ArchiveObjects;
use crate::clock::Clock;
use crate::error::PortError;
use crate::metrics::Metrics;
use crate::records::{hashed_key, ItemKey, ItemKind};
use crate::retention::{ExpiredItem, ExpiredLookup, ExpiringRecords};
use crate::retention::{ExpirySlot, RetentionPolicy};
use futures::stream::{self, StreamExt};
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
    /// Items whose cleanup failed: kept (the sweep's) or left to the stream's retry (TTL's).
    pub records_failed: u64,
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
/// Reads of one item in one sweep: an item that changed between its read and its delete (the
/// media fetcher archived its file, an erasure replaced it with a tombstone) is read again, its
/// new objects deleted, and deleted as it is then.
pub const ATTEMPTS_PER_ITEM: usize = 3;

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

/// Which of an item's objects this run deleted.
#[derive(Debug, Default, Clone, Copy)]
struct ObjectsDeleted {
    media: bool,
    journal: bool,
}

impl ObjectsDeleted {
    fn and(self, other: ObjectsDeleted) -> ObjectsDeleted {
        ObjectsDeleted {
            media: self.media || other.media,
            journal: self.journal || other.journal,
        }
    }
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
            match self.delete_objects(&run, item).await {
                Ok(deleted) => self.audit(&run, item, ExpiryReason::Ttl, deleted),
                Err(error) => {
                    lock(&run.report).records_failed += 1;
                    failure = Some((index, error));
                    break;
                }
            }
        }
        let report = self.finish(&run, ExpiryReason::Ttl);
        (report, failure)
    }

    /// Deletes every item whose `expires_at` has passed, with its media and journal, reading the
    /// expiry index hour by hour (every shard of each hour) from the checkpoint to now: the cost
    /// follows the expired items and the hours read, not the table size.
    ///
    /// An item whose cleanup fails stays (objects go first), the others of its hour and the later
    /// hours are still swept, and the checkpoint stops at the first hour not cleaned in full, so
    /// the next sweep reads it again. Then the sweep fails (alarmed), with the first error.
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
        // The first hour not cleaned in full, and why.
        let mut unfinished: Option<(i64, PortError)> = None;
        for hour in first..=now_hour {
            // An hour counts as swept only once every one of its shards was read to the end and
            // every expired item in it was deleted with its objects.
            let failures: Vec<PortError> = stream::iter(ExpirySlot::all_of_hour(hour))
                .map(|slot| self.sweep_slot(&run, slot, now))
                .buffer_unordered(SLOT_CONCURRENCY)
                .filter_map(|result| std::future::ready(result.err()))
                .collect()
                .await;
            lock(&run.report).hours_swept += 1;
            if let (None, Some(error)) = (&unfinished, failures.into_iter().next()) {
                unfinished = Some((hour, error));
            }
        }
        // Every shard of every hour before this one is now empty of expired items; the current
        // hour still holds items that expire later in it.
        let next = unfinished.as_ref().map_or(now_hour, |(hour, _)| *hour);
        let checkpoint = self.records.set_sweep_checkpoint(next).await;
        let report = self.finish(&run, ExpiryReason::Sweep);
        match (unfinished, checkpoint) {
            (Some((hour, error)), _) => {
                tracing::warn!(
                    event = "sweep_unfinished",
                    hour,
                    records_failed = report.records_failed,
                    error = %error
                );
                Err(error)
            }
            (None, Err(error)) => Err(error),
            (None, Ok(())) => Ok(report),
        }
    }

    /// Sweeps one slot page by page; an item that fails is skipped (it stays in the index) and
    /// the slot read on, then the slot reports the first failure.
    async fn sweep_slot(&self, run: &Run, slot: ExpirySlot, now: i64) -> Result<(), PortError> {
        let mut cursor = None;
        let mut failure = None;
        loop {
            let page = self.records.expired_in_slot(slot, now, cursor).await?;
            let failures: Vec<PortError> = stream::iter(page.keys)
                .map(|key| async move {
                    let result = self.sweep_item(run, &key, now).await;
                    if let Err(error) = &result {
                        lock(&run.report).records_failed += 1;
                        tracing::warn!(
                            event = "retention_cleanup_failed",
                            reason = ExpiryReason::Sweep.as_str(),
                            item = %hashed_key(&key),
                            error = %error
                        );
                    }
                    result.err()
                })
                .buffer_unordered(DELETES_PER_SLOT)
                .filter_map(std::future::ready)
                .collect()
                .await;
            failure = failure.or(failures.into_iter().next());
            match page.next {
                Some(next) => cursor = Some(next),
                None => return failure.map_or(Ok(()), Err),
            }
        }
    }

    /// One expired item: its media and journal objects first, then the item, only if it is still
    /// as read. A failure at any step leaves the item in the table (and in the index) for the
    /// next run.
    async fn sweep_item(&self, run: &Run, key: &ItemKey, now: i64) -> Result<(), PortError> {
        let mut deleted = ObjectsDeleted::default();
        for _ in 0..ATTEMPTS_PER_ITEM {
            let item = match self.records.expired_item(key, now).await? {
                ExpiredLookup::NotExpired => return Ok(()),
                ExpiredLookup::Deleted(item) => {
                    self.audit(run, &item, ExpiryReason::Sweep, deleted);
                    return Ok(());
                }
                ExpiredLookup::Holding(item) => item,
            };
            deleted = deleted.and(self.delete_objects(run, &item).await?);
            if self.records.delete_if_unchanged(&item).await? {
                self.audit(run, &item, ExpiryReason::Sweep, deleted);
                return Ok(());
            }
            // Changed (or gone) since the read: read it again.
        }
        Err(PortError::unavailable(
            "dynamodb",
            format!("an expired item changed {ATTEMPTS_PER_ITEM} times during its cleanup"),
        ))
    }

    /// Deletes the item's media object and journal object (every version; one already gone is
    /// success).
    async fn delete_objects(
        &self,
        run: &Run,
        item: &ExpiredItem,
    ) -> Result<ObjectsDeleted, PortError> {
        let mut deleted = ObjectsDeleted::default();
        if let Some(key) = &item.media_key {
            self.objects.delete_all_versions(key).await?;
            deleted.media = true;
        }
        // Every item pointing at a journal object was created from that body at its arrival,
        // so they all expire with it: the first to go takes the object. Another item of the body
        // may go meanwhile: the one that claimed the object stays until the object is gone.
        if let Some(key) = &item.journal_key {
            let claimed = lock(&run.journals_done).insert(key.clone());
            if claimed {
                if let Err(error) = self.objects.delete_all_versions(key).await {
                    lock(&run.journals_done).remove(key);
                    return Err(error);
                }
                deleted.journal = true;
            }
        }
        Ok(deleted)
    }

    /// Audits and counts one item gone (its objects already are).
    fn audit(&self, run: &Run, item: &ExpiredItem, reason: ExpiryReason, deleted: ObjectsDeleted) {
        let bytes_freed = if deleted.media { item.media_bytes } else { 0 };
        tracing::info!(
            event = "retention_audit",
            reason = reason.as_str(),
            kind = item.kind.map_or("", ItemKind::as_str),
            item = %hashed_key(&item.key),
            media_deleted = deleted.media,
            journal_deleted = deleted.journal,
            bytes_freed
        );
        let mut report = lock(&run.report);
        report.records_expired += 1;
        report.media_deleted += u64::from(deleted.media);
        report.journal_deleted += u64::from(deleted.journal);
        report.bytes_freed += bytes_freed;
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
            hours_swept = report.hours_swept,
            records_failed = report.records_failed
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
