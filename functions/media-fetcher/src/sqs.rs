//! The SQS edge: a batch of media jobs in (`aws_lambda_events`' `SqsEvent`), the ids of the jobs
//! to retry out (`SqsBatchResponse`, for `ReportBatchItemFailures`), with a growing visibility
//! timeout for each retried job.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use std::time::Duration;
use wavault_core::media::MediaJob;
use wavault_core::media::{ArchiveOutcome, Archiver, RetryLater};

/// The batch stops this long before the invocation's deadline: a job still running is cut off
/// and, like the jobs not started, reported as a batch item failure, so the invocation never times
/// out (which would return the whole batch, archived jobs included, and count nothing). A job cut
/// off mid-upload leaves its multipart upload to the bucket's abort-after-a-day lifecycle rule.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// The invocation's deadline (`Lambda-Runtime-Deadline-Ms`) less [`DEADLINE_MARGIN`], as a
/// tokio instant; `None` when Lambda gave none.
pub fn invocation_deadline(deadline_ms: u64) -> Option<tokio::time::Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let deadline = std::time::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(DEADLINE_MARGIN);
    Some(tokio::time::Instant::now() + left)
}

/// Retry delay for the n-th receive: 30 s doubling, at most 15 minutes.
pub fn backoff_seconds(receive_count: u32) -> i32 {
    let exponent = receive_count.saturating_sub(1).min(5);
    (30i32 << exponent).min(900)
}

/// Something that can postpone a message's next delivery (SQS ChangeMessageVisibility).
#[async_trait::async_trait]
pub trait Postpone: Send + Sync {
    async fn postpone(&self, receipt_handle: &str, seconds: i32);
}

/// Archives each job in turn (bounded memory: one file at a time); reports the ones to retry.
/// `deadline` (the invocation's, less [`DEADLINE_MARGIN`]) bounds the whole batch.
pub async fn handle(
    archiver: &Archiver,
    postpone: &dyn Postpone,
    event: SqsEvent,
    deadline: Option<tokio::time::Instant>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let message_id = message.message_id.unwrap_or_default();
        let job: MediaJob = match message.body.as_deref().map(serde_json::from_str) {
            Some(Ok(job)) => job,
            _ => {
                // Not a job we can read: retrying cannot help; it would only reach the DLQ.
                tracing::error!(event = "media_job_unreadable", message_id = %message_id);
                continue;
            }
        };
        let archived = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, archiver.archive(&job))
                .await
                .unwrap_or_else(|_| {
                    Err(RetryLater {
                        reason: "the invocation's time ran out".to_owned(),
                    })
                }),
            None => archiver.archive(&job).await,
        };
        match archived {
            Ok(outcome) => log_outcome(&job, &outcome),
            Err(retry) => {
                archiver.metrics.count("MediaRetried", 1);
                let receives = message
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                let delay = backoff_seconds(receives);
                tracing::warn!(
                    event = "media_retry",
                    record = %job.record_log_id(),
                    receives,
                    delay_seconds = delay,
                    reason = %retry.reason
                );
                if let Some(handle) = &message.receipt_handle {
                    postpone.postpone(handle, delay).await;
                }
                response.add_failure(message_id);
            }
        }
    }
    response
}

/// One line per job naming its record by the truncated hash only: neither the media id nor the
/// object key (which holds the full record key) goes to the logs.
fn log_outcome(job: &MediaJob, outcome: &ArchiveOutcome) {
    match outcome {
        ArchiveOutcome::Archived {
            bytes, uploaded, ..
        } => {
            tracing::info!(event = "media_archived", record = %job.record_log_id(), bytes, uploaded)
        }
        ArchiveOutcome::AlreadyArchived => {
            tracing::info!(event = "media_already_archived", record = %job.record_log_id())
        }
        ArchiveOutcome::RecordGone => {
            tracing::info!(event = "media_record_gone", record = %job.record_log_id())
        }
        ArchiveOutcome::Failed { reason } => {
            tracing::warn!(event = "media_failed", record = %job.record_log_id(), reason = %reason)
        }
    }
}

#[cfg(test)]
#[path = "tests/sqs.rs"]
mod tests;
