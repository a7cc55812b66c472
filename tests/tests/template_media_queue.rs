//! The media queue's definition in `infra/template.yaml` against the retry schedule the fetcher and the sweep use
//! (`shared/core/src/media/retry.rs`): retrying covers a long Graph outage, every receive of a job happens well
//! inside the media deadline, and the sweep's stale window outlasts a job in a fetcher's hands.

use wavault_core::media::{
    backoff_seconds, retry_span_seconds, DEFAULT_MEDIA_DEADLINE_DAYS, FETCHER_TIMEOUT_SECONDS,
    MAX_BACKOFF_SECONDS, MAX_RECEIVES, QUEUE_RETENTION_SECONDS, QUEUE_VISIBILITY_TIMEOUT_SECONDS,
    REDRIVE_MARGIN_SECONDS, STALE_PENDING_SECONDS,
};
use wavault_core::retention::SECONDS_PER_DAY;
use wavault_tests::template::{as_i64, Template};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn max_receives_times_the_largest_backoff_fits_the_media_deadline() -> TestResult {
    let t = Template::project()?;
    let queue = t.resource("MediaQueue", "AWS::SQS::Queue")?;
    let receives = queue
        .opt_i64(&["RedrivePolicy", "maxReceiveCount"])?
        .ok_or("MediaQueue has no maxReceiveCount")?;
    assert_eq!(receives, MAX_RECEIVES, "the template and retry.rs disagree");
    let retention = queue
        .opt_i64(&["MessageRetentionPeriod"])?
        .ok_or("MediaQueue has no MessageRetentionPeriod")?;
    assert_eq!(retention, QUEUE_RETENTION_SECONDS);
    let visibility = queue
        .opt_i64(&["VisibilityTimeout"])?
        .ok_or("MediaQueue has no VisibilityTimeout")?;
    assert_eq!(visibility, QUEUE_VISIBILITY_TIMEOUT_SECONDS);

    let fetcher = t.resource("MediaFetcherFunction", "AWS::Serverless::Function")?;
    let timeout = match fetcher.opt_i64(&["Timeout"])? {
        Some(timeout) => timeout,
        None => t
            .global(&["Function", "Timeout"])
            .as_ref()
            .and_then(as_i64)
            .ok_or("no fetcher Timeout")?,
    };
    assert_eq!(timeout, FETCHER_TIMEOUT_SECONDS);

    // The deadline the template stamps on records (MEDIA_DEADLINE_DAYS defaults to 7 in the code; the webhook's
    // environment may set it: then that value).
    let deadline_days = t
        .parameter("MediaDeadlineDays")
        .and_then(as_i64)
        .unwrap_or(i64::from(DEFAULT_MEDIA_DEADLINE_DAYS));
    let deadline = deadline_days * SECONDS_PER_DAY;
    // SQS caps a visibility timeout (the backoff) at 12 hours (retry.rs checks it at compile time too).
    assert!(backoff_seconds(u32::MAX) <= 12 * 3600);
    assert!(
        receives * MAX_BACKOFF_SECONDS + REDRIVE_MARGIN_SECONDS <= deadline,
        "{receives} receives x {MAX_BACKOFF_SECONDS} s + {REDRIVE_MARGIN_SECONDS} s margin > the {deadline} s deadline"
    );
    assert!(
        receives * MAX_BACKOFF_SECONDS <= retention,
        "a job would expire on the queue first"
    );
    // Retrying covers an outage of days, not minutes.
    assert!(retry_span_seconds() >= 3 * SECONDS_PER_DAY);
    assert_eq!(backoff_seconds(u32::MAX), MAX_BACKOFF_SECONDS);
    // A job received and then abandoned by its fetcher returns after the visibility timeout, within the window.
    assert!(STALE_PENDING_SECONDS > visibility + timeout);
    Ok(())
}
