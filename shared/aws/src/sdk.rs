//! Building the SDK configuration once per Lambda instance, with the endpoint the settings read from
//! `AWS_ENDPOINT_URL` (emulators).

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;
use wavault_core::config::AwsEndpoint;

/// Attempts per AWS call: the SDK backs off exponentially with jitter between them, which is what
/// absorbs DynamoDB throttling on a 1000-update batch.
pub const MAX_ATTEMPTS: u32 = 6;

/// How long one AWS call may take, per function, so that a slow AWS call fails the call (a clean
/// 500, a batch item failure, a failed step: each counted) instead of running the function into
/// its Lambda timeout, where nothing is answered, nothing is counted and the whole batch returns.
///
/// The SDK's defaults have no operation or attempt timeout at all (only a 3.1 s connect timeout):
/// a hung connection waits for the Lambda timeout. Each field bounds one layer:
/// - `connect`: TCP + TLS to the endpoint;
/// - `attempt`: one HTTP attempt, response read included; a timed-out attempt is retried;
/// - `operation`: the whole call, every attempt and the backoff between them ([`MAX_ATTEMPTS`]
///   fast throttling answers still fit: standard backoff starts below 1 s).
///
/// The arithmetic, against the template's `Timeout`s:
/// - webhook, 10 s: a call gives up after 3 s (two 2 s attempts cannot both run), so one slow
///   service costs at most 3 s of the delivery. Several slow calls in one delivery (cold start:
///   Meta secret, journal, hash key, records, jobs are sequential) could still add up past
///   10 s, so the handler also answers 500 at the latest 1.5 s before the invocation deadline
///   (`functions/webhook/src/main.rs`): every path answers inside the timeout.
/// - media-fetcher, 300 s: a buffered call (at most an 8 MiB part) gives up after 25 s (10 s
///   attempts); a part streamed from the download is paced by Meta, not S3, and has its own
///   [`AwsTimeouts::STREAMED_PART`] bound. A batch of up to ten jobs still needs the handler's
///   deadline (`functions/media-fetcher/src/sqs.rs`): jobs that cannot finish before it become
///   batch item failures.
/// - token-rotator, 60 s: a Secrets Manager call gives up after 12 s, so one slow call fails
///   its step (alarmed, `TokenRotationFailed`) with time to spare, and the idempotent step runs
///   again on the next trigger; Graph calls have their own 20 s bound.
/// - ttl-expirer, 300 s: deletes and index pages give up after 30 s; a stream batch then fails
///   from the record at fault and is retried (then the on-failure queue); the sweep resumes
///   from its checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsTimeouts {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
}

impl AwsTimeouts {
    /// The webhook (Lambda `Timeout: 10`).
    pub const WEBHOOK: Self = Self::new(1, 2, 3);
    /// The media fetcher (Lambda `Timeout: 300`).
    pub const MEDIA_FETCHER: Self = Self::new(3, 10, 25);
    /// One UploadPart streamed from the download: its body arrives at Meta's pace (each read has
    /// the Graph client's 30 s timeout), so it gets as long as an 8 MiB part at 0.07 MB/s.
    pub const STREAMED_PART: Self = Self::new(3, 120, 120);
    /// The token rotator (Lambda `Timeout: 60`).
    pub const TOKEN_ROTATOR: Self = Self::new(2, 5, 12);
    /// The ttl-expirer (Lambda `Timeout: 300`).
    pub const TTL_EXPIRER: Self = Self::new(3, 10, 30);
    /// The operator's `wavault` tool (no Lambda timeout; still never hangs).
    pub const OPERATOR: Self = Self::new(5, 30, 120);

    const fn new(connect: u64, attempt: u64, operation: u64) -> Self {
        Self {
            connect: Duration::from_secs(connect),
            attempt: Duration::from_secs(attempt),
            operation: Duration::from_secs(operation),
        }
    }

    /// As the SDK's timeout configuration.
    pub fn config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// Loads the shared SDK configuration (region, credentials) with the function's [`AwsTimeouts`] and
/// its settings' [`AwsEndpoint`]: the endpoint is set from the settings, so the variable a function
/// declares is the one its clients use.
pub async fn load_sdk_config(timeouts: AwsTimeouts, endpoint: &AwsEndpoint) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(timeouts.config());
    match &endpoint.url {
        Some(url) => loader.endpoint_url(url),
        None => loader,
    }
    .load()
    .await
}

/// An S3 client for `config`: path-style addressing whenever an endpoint override is set
/// (`bucket.localhost` does not resolve against an emulator).
#[cfg(feature = "s3")]
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every call's timeouts fit inside its function's Lambda timeout (template `Timeout`s), and
    /// an attempt never outlasts its operation.
    #[test]
    fn timeouts_fit_the_functions() {
        for (timeouts, lambda_timeout) in [
            (AwsTimeouts::WEBHOOK, 10),
            (AwsTimeouts::MEDIA_FETCHER, 300),
            (AwsTimeouts::STREAMED_PART, 300),
            (AwsTimeouts::TOKEN_ROTATOR, 60),
            (AwsTimeouts::TTL_EXPIRER, 300),
        ] {
            assert!(timeouts.attempt <= timeouts.operation, "{timeouts:?}");
            assert!(timeouts.connect < timeouts.attempt, "{timeouts:?}");
            assert!(
                timeouts.operation < Duration::from_secs(lambda_timeout) / 2,
                "{timeouts:?} vs {lambda_timeout} s"
            );
            let config = timeouts.config();
            assert_eq!(config.operation_timeout(), Some(timeouts.operation));
            assert_eq!(config.operation_attempt_timeout(), Some(timeouts.attempt));
            assert_eq!(config.connect_timeout(), Some(timeouts.connect));
        }
    }
}
