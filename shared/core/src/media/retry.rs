//! How long a media job keeps being retried, and when the sweep may call one lost: the numbers the
//! media queue's definition in `infra/template.yaml` must agree with (checked by
//! `tests/tests/template_media_queue.rs`; the reasoning is in docs/operations.md "Media retries").
//!
//! A job is retried by SQS: the fetcher postpones a failed job's next delivery by
//! [`backoff_seconds`] (ChangeMessageVisibility) and the queue dead-letters it at its
//! [`MAX_RECEIVES`]-th receive. The schedule must outlast a long Graph outage or rate limit (a
//! job dead-lettered after 15 minutes of a rate limit, as with 5 receives of 30 s..900 s, was
//! recorded failed by the sweep: lost media), yet every receive must happen well inside the media
//! deadline, so a dead-lettered job still leaves days for an operator's redrive.

use crate::media::DEFAULT_MEDIA_DEADLINE_DAYS;
use crate::retention::SECONDS_PER_DAY;

/// The first retry's delay; each further receive doubles it up to [`MAX_BACKOFF_SECONDS`].
pub const FIRST_BACKOFF_SECONDS: i64 = 30;
/// The longest delay between two receives: one hour. Graph rate limits and outages are measured
/// in minutes to hours, and Meta blocks `GET /{media-id}` for an hour after repeated failures:
/// retrying more often than hourly buys nothing, less often only delays the archive.
pub const MAX_BACKOFF_SECONDS: i64 = 3600;
/// The media queue's `maxReceiveCount`: 96 receives at most an hour apart, so a job retries for
/// about four days (3 days 22 hours of hourly retries after the ramp-up) before it is
/// dead-lettered.
pub const MAX_RECEIVES: i64 = 96;
/// What the retries must leave of the media deadline: time to notice the dead-lettered job
/// (`MediaDeadLetterAlarm`), fix the cause and redrive it before Meta forgets the media id.
pub const REDRIVE_MARGIN_SECONDS: i64 = 2 * SECONDS_PER_DAY;
/// The media queue's `MessageRetentionPeriod`: as long as Meta serves an inbound media id (an
/// older job could not be fetched anyway); it must outlast every receive of a job.
pub const QUEUE_RETENTION_SECONDS: i64 = DEFAULT_MEDIA_DEADLINE_DAYS as i64 * SECONDS_PER_DAY;
/// The media fetcher's Lambda `Timeout`.
pub const FETCHER_TIMEOUT_SECONDS: i64 = 300;
/// The media queue's `VisibilityTimeout`: six fetcher timeouts (AWS's guidance for SQS event
/// sources). A received job whose fetcher died (crash, kill, throttled invocation) comes back
/// only after this long, without any write to its record.
pub const QUEUE_VISIBILITY_TIMEOUT_SECONDS: i64 = 6 * FETCHER_TIMEOUT_SECONDS;

/// How long after its expected delivery a pending job must stay silent (no archive, no failure,
/// no retry written to its record) before the media sweep calls it lost and enqueues it again:
/// a job received at its expected time by a fetcher that then died returns after the visibility
/// timeout and takes at most one fetcher timeout more; five minutes spare.
pub const STALE_PENDING_SECONDS: i64 =
    QUEUE_VISIBILITY_TIMEOUT_SECONDS + FETCHER_TIMEOUT_SECONDS + 5 * 60;

// The schedule's invariants, checked when the crate compiles: SQS caps a visibility timeout at
// 12 hours; every receive fits the media deadline with the redrive margin, and the queue's
// retention; a job abandoned by its fetcher returns inside the stale window.
const _: () = assert!(MAX_BACKOFF_SECONDS <= 12 * 3600);
const _: () = assert!(
    MAX_RECEIVES * MAX_BACKOFF_SECONDS + REDRIVE_MARGIN_SECONDS
        <= DEFAULT_MEDIA_DEADLINE_DAYS as i64 * SECONDS_PER_DAY
);
const _: () = assert!(MAX_RECEIVES * MAX_BACKOFF_SECONDS <= QUEUE_RETENTION_SECONDS);
const _: () =
    assert!(STALE_PENDING_SECONDS > QUEUE_VISIBILITY_TIMEOUT_SECONDS + FETCHER_TIMEOUT_SECONDS);

/// Retry delay after the n-th receive (1-based): 30 s doubling, at most an hour.
pub fn backoff_seconds(receive_count: u32) -> i64 {
    let exponent = receive_count.saturating_sub(1).min(16);
    (FIRST_BACKOFF_SECONDS << exponent).min(MAX_BACKOFF_SECONDS)
}

/// The longest a job retries before its last receive dead-letters it: the sum of the delays
/// between its [`MAX_RECEIVES`] receives.
pub fn retry_span_seconds() -> i64 {
    (1..MAX_RECEIVES as u32).map(backoff_seconds).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_seconds(0), 30);
        assert_eq!(backoff_seconds(1), 30);
        assert_eq!(backoff_seconds(2), 60);
        assert_eq!(backoff_seconds(3), 120);
        assert_eq!(backoff_seconds(7), 1920);
        assert_eq!(backoff_seconds(8), 3600);
        assert_eq!(backoff_seconds(u32::MAX), 3600);
    }

    /// The retries cover days (the constant bounds are checked at compile time, above).
    #[test]
    fn retries_cover_days_and_end_inside_the_media_deadline() {
        let span = retry_span_seconds();
        assert!(span >= 3 * SECONDS_PER_DAY, "{span}");
        assert!(span <= MAX_RECEIVES * MAX_BACKOFF_SECONDS);
    }
}
