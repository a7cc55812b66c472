//! The media sweep (EventBridge, every 15 minutes): nothing pending is forgotten, nothing lost is
//! silent. It re-enqueues media still pending after 15 minutes, records media past Meta's deadline
//! as `failed` (`expired-before-archive`), drains the dead-letter queue into `failed`
//! (`dead-lettered`) records, and reports `MediaPending`, `MediaAtRisk` (< 24 h left) and
//! `MediaLost`. It reads the sparse `media-pending` index, never the table.

use crate::clock::Clock;
use crate::error::PortError;
use crate::ingest::JobQueue;
use crate::media::PENDING_SHARDS;
use crate::media::{DeadLetters, MediaRecords, MediaUpdate, PendingIndex};
use crate::metrics::Metrics;
use std::sync::Arc;

/// Media pending longer than this is enqueued again (its first job may be lost or stuck).
pub const STALE_PENDING_SECONDS: i64 = 15 * 60;
/// Media with less than this left before its deadline is "at risk".
pub const AT_RISK_SECONDS: i64 = 24 * 3600;
/// Dead-letter receives per sweep (ten messages each): bounds one run's work.
pub const MAX_DLQ_ROUNDS: usize = 100;

/// What one sweep found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub pending: u64,
    pub reenqueued: u64,
    pub at_risk: u64,
    pub lost: u64,
    pub dead_lettered: u64,
}

pub struct MediaSweep {
    pub index: Arc<dyn PendingIndex>,
    pub queue: Arc<dyn JobQueue>,
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
            for letter in self.index.pending(&format!("dlq#{shard}")).await? {
                if letter.deadline <= now {
                    continue;
                }
                let home = crate::media::pending_shard(&letter.job.record);
                if self
                    .records
                    .mark_pending_again(&letter.job.record, &home)
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
        let mut stale = Vec::new();
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
                if now - pending.job.received_at >= STALE_PENDING_SECONDS {
                    stale.push(pending.job);
                }
            }
        }
        if !stale.is_empty() {
            self.queue.enqueue(&stale).await?;
            report.reenqueued = stale.len() as u64;
        }
        let m = &self.metrics;
        m.count("MediaPending", report.pending);
        m.count("MediaAtRisk", report.at_risk);
        m.count("MediaLost", report.lost);
        m.count("MediaReenqueued", report.reenqueued);
        m.count("MediaDeadLettered", report.dead_lettered);
        Ok(report)
    }
}
