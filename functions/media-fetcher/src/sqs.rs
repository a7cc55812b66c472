//! The SQS edge: a batch of media jobs in (`aws_lambda_events`' `SqsEvent`), the ids of the jobs
//! to retry out (`SqsBatchResponse`, for `ReportBatchItemFailures`), with a growing visibility
//! timeout for each retried job.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use std::time::Duration;
use wavault_core::media::MediaJob;
use wavault_core::media::{backoff_seconds, ArchiveOutcome, Archiver};

/// The batch stops this long before the invocation's deadline: a job still running is cut off
/// there, cleanly (its part uploads cancelled, its multipart upload aborted: the archiver does
/// it before it returns), and reported as a batch item failure with the jobs not started, so the
/// invocation never times out (which would return the whole batch, archived jobs included, and
/// count nothing). The margin covers that clean-up (one AbortMultipartUpload) and the answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// A job is started only with this much time left before the batch's deadline: one Graph media
/// info call at its timeout (20 s) plus one AWS call at the fetcher's operation timeout (25 s,
/// the record write that ends a job). With less, one slow call would cut the job off; most
/// files (images, voice notes: one PutObject) take a second or two, so a job given its budget
/// usually finishes even when a call runs to its timeout. A job not started is made visible
/// again at once (no backoff: nothing failed), for the next invocation.
pub const JOB_BUDGET: Duration = Duration::from_secs(
    wavault_graph::http::MEDIA_INFO_TIMEOUT.as_secs()
        + wavault_aws::sdk::AwsTimeouts::MEDIA_FETCHER
            .operation
            .as_secs(),
);

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

/// When the batch must stop, and how much time a job needs to be started.
#[derive(Debug, Clone, Copy)]
pub struct BatchTime {
    /// The invocation's deadline less [`DEADLINE_MARGIN`]; `None`: unbounded.
    pub deadline: Option<tokio::time::Instant>,
    /// [`JOB_BUDGET`] (tests shrink it).
    pub job_budget: Duration,
}

impl BatchTime {
    pub fn until(deadline: Option<tokio::time::Instant>) -> Self {
        Self {
            deadline,
            job_budget: JOB_BUDGET,
        }
    }

    /// Whether one more job fits before the deadline.
    fn fits_a_job(&self) -> bool {
        self.deadline.is_none_or(|deadline| {
            deadline.saturating_duration_since(tokio::time::Instant::now()) >= self.job_budget
        })
    }
}

/// Something that can postpone a message's next delivery (SQS ChangeMessageVisibility).
#[async_trait::async_trait]
pub trait Postpone: Send + Sync {
    async fn postpone(&self, receipt_handle: &str, seconds: i32);
}

/// Archives each job in turn (bounded memory: one file at a time); reports the ones to retry.
/// A job is started only while [`BatchTime`] leaves it its budget; the rest are returned at
/// once, visible again immediately.
pub async fn handle(
    archiver: &Archiver,
    postpone: &dyn Postpone,
    event: SqsEvent,
    time: BatchTime,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut unstarted = 0u64;
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
        if unstarted > 0 || !time.fits_a_job() {
            // Not started: back on the queue now. Its record's expected delivery stays as it
            // was; the job is visible, so the sweep sees a backlog and enqueues nothing.
            unstarted += 1;
            if let Some(handle) = &message.receipt_handle {
                postpone.postpone(handle, 0).await;
            }
            response.add_failure(message_id);
            continue;
        }
        match archiver.archive(&job, time.deadline).await {
            Ok(outcome) => log_outcome(&job, &outcome),
            Err(retry) => {
                archiver.metrics.count("MediaRetried", 1);
                if retry.cut_off {
                    archiver.metrics.count("MediaCutOff", 1);
                }
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
                    cut_off = retry.cut_off,
                    reason = %retry.reason
                );
                if let Some(handle) = &message.receipt_handle {
                    postpone
                        .postpone(handle, i32::try_from(delay).unwrap_or(i32::MAX))
                        .await;
                }
                archiver.expect_retry(&job, delay).await;
                response.add_failure(message_id);
            }
        }
    }
    if unstarted > 0 {
        archiver.metrics.count("MediaNotStarted", unstarted);
        tracing::warn!(event = "media_jobs_not_started", jobs = unstarted);
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
