//! The media sweep (EventBridge, every 15 minutes): nothing pending is forgotten, nothing lost is
//! silent. It re-enqueues media whose job is lost, records media past Meta's deadline as `failed`
//! (`expired-before-archive`), drains the dead-letter queue into `failed` (`dead-lettered`)
//! records, and reports `MediaPending`, `MediaAtRisk` (< 24 h left), `MediaLost` and
//! `MediaUnverifiedHeld` (archived without a digest Meta declared). It reads the sparse
//! `media-pending` index, never the table.
//!
//! A job is lost, and enqueued again, only when its record's expected delivery
//! (`media_next_attempt_at`, else its receipt) is older than [`STALE_PENDING_SECONDS`] and the
//! queue holds no visible job: a job backing off has its expected delivery moved by the fetcher,
//! a job waiting in a backlog is visible, and a job in a fetcher's hands returns within the stale
//! window. The re-enqueue is claimed on the record first (a conditional write), so two sweeps
//! never both enqueue one job, and a lost job is enqueued once per stale window.

use crate::clock::Clock;
use crate::error::PortError;
use crate::ingest::JobQueue;
use crate::media::{
    DeadLetters, MediaRecords, MediaUpdate, PendingIndex, QueueBacklog, STALE_PENDING_SECONDS,
};
use crate::media::{DEAD_LETTERED_SHARD_PREFIX, PENDING_SHARDS, UNVERIFIED_SHARD_PREFIX};
use crate::metrics::Metrics;
use std::sync::Arc;
/// Media with less than this left before its deadline is "at risk".
pub const AT_RISK_SECONDS: i64 = 24 * 3600;
/// Dead-letter receives per sweep (ten messages each): bounds one run's work.
pub const MAX_DLQ_ROUNDS: usize = 100;

/// What one sweep found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub pending: u64,
    pub reenqueued: u64,
    /// Pending media whose job looked stale but was left alone because the queue had a visible
    /// backlog (the job is most likely waiting in it).
    pub waiting: u64,
    pub at_risk: u64,
    pub lost: u64,
    pub dead_lettered: u64,
    /// Archived media kept without a digest Meta declared (`media_verified = false`).
    pub unverified: u64,
}

pub struct MediaSweep {
    pub index: Arc<dyn PendingIndex>,
    pub queue: Arc<dyn JobQueue>,
    pub backlog: Arc<dyn QueueBacklog>,
    pub records: Arc<dyn MediaRecords>,
    pub dead_letters: Option<Arc<dyn DeadLetters>>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
}

impl MediaSweep {
    /// Re-queues dead-lettered media whose deadline still allows (after the cause was fixed):
    /// back to `pending`, a new job each. Returns how many were re-queued.
    pub async fn redrive_dead_lettered(&self) -> Result<u64, PortError> {
        let now = self.clock.now_epoch_seconds();
        let mut jobs = Vec::new();
        for shard in 0..PENDING_SHARDS {
            let dlq = format!("{DEAD_LETTERED_SHARD_PREFIX}{shard}");
            for letter in self.index.pending(&dlq).await? {
                if letter.deadline <= now {
                    continue;
                }
                let home = crate::media::pending_shard(&letter.job.record);
                if self
                    .records
                    .mark_pending_again(&letter.job.record, &home, now)
                    .await?
                    == MediaUpdate::Updated
                {
                    jobs.push(letter.job);
                }
            }
        }
        if !jobs.is_empty() {
            self.queue.enqueue(&jobs).await?;
        }
        self.metrics.count("MediaRedriven", jobs.len() as u64);
        Ok(jobs.len() as u64)
    }

    pub async fn run(&self) -> Result<SweepReport, PortError> {
        let now = self.clock.now_epoch_seconds();
        let mut report = SweepReport::default();
        // Dead letters first: a job that exhausted its retries is failed, not re-enqueued below.
        if let Some(dead_letters) = &self.dead_letters {
            for _ in 0..MAX_DLQ_ROUNDS {
                let batch = dead_letters.receive().await?;
                if batch.is_empty() {
                    break;
                }
                for letter in batch {
                    if let Some(job) = &letter.job {
                        if self
                            .records
                            .mark_failed(&job.record, "dead-lettered", now, true)
                            .await?
                            == MediaUpdate::Updated
                        {
                            report.dead_lettered += 1;
                        }
                    }
                    dead_letters.delete(&letter.receipt_handle).await?;
                }
            }
        }
        let stale_before = now - STALE_PENDING_SECONDS;
        let mut candidates = Vec::new();
        for shard in 0..PENDING_SHARDS {
            for pending in self.index.pending(&shard.to_string()).await? {
                if pending.deadline <= now {
                    if self
                        .records
                        .mark_failed(&pending.job.record, "expired-before-archive", now, false)
                        .await?
                        == MediaUpdate::Updated
                    {
                        report.lost += 1;
                    }
                    continue;
                }
                report.pending += 1;
                if pending.deadline - now < AT_RISK_SECONDS {
                    report.at_risk += 1;
                }
                // The expected delivery is never before the receipt: a record received within the
                // window cannot be stale, and costs no write.
                if pending.job.received_at <= stale_before {
                    candidates.push(pending.job);
                }
            }
        }
        if !candidates.is_empty() {
            if self.backlog.visible_jobs().await? > 0 {
                report.waiting = candidates.len() as u64;
            } else {
                let mut lost = Vec::new();
                for job in candidates {
                    if self
                        .records
                        .claim_reenqueue(&job.record, now, stale_before)
                        .await?
                        == MediaUpdate::Updated
                    {
                        lost.push(job);
                    }
                }
                // Claimed first: should this enqueue fail, the jobs wait one stale window (the
                // invocation fails, alarmed) rather than risk a second copy.
                if !lost.is_empty() {
                    self.queue.enqueue(&lost).await?;
                    report.reenqueued = lost.len() as u64;
                }
            }
        }
        for shard in 0..PENDING_SHARDS {
            report.unverified += self
                .index
                .count(&format!("{UNVERIFIED_SHARD_PREFIX}{shard}"))
                .await?;
        }
        let m = &self.metrics;
        m.count("MediaPending", report.pending);
        m.count("MediaAtRisk", report.at_risk);
        m.count("MediaLost", report.lost);
        m.count("MediaReenqueued", report.reenqueued);
        m.count("MediaDeadLettered", report.dead_lettered);
        m.count("MediaUnverifiedHeld", report.unverified);
        Ok(report)
    }
}

#[cfg(test)]
#[path = "tests/sweep.rs"]
mod tests;
