//! wavault media fetcher Lambda: SQS media jobs -> Graph -> S3, verified; partial batch failures.
//! The same function runs the media sweep on its EventBridge schedule (a `Scheduled Event`, or
//! `{"action": "sweep"}` when invoked by hand) and the redrive of dead-lettered media
//! (`{"action": "redrive-dead-lettered"}`).

mod sqs;
mod wiring;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_aws::sqs::SqsJobQueue;
use wavault_core::config::Config;
use wavault_core::metrics::EmfMetrics;
use wiring::{archiver_service, media_sweep_service, Clients};

struct SqsPostpone(SqsJobQueue);

#[async_trait::async_trait]
impl sqs::Postpone for SqsPostpone {
    async fn postpone(&self, receipt_handle: &str, seconds: i32) {
        if let Err(error) = self.0.postpone(receipt_handle, seconds).await {
            // The message still returns after the queue's visibility timeout.
            tracing::warn!(event = "postpone_failed", error = %error);
        }
    }
}

/// Part buffers are 8 MiB; glibc's adaptive mmap threshold would otherwise move them onto the
/// heap after the first free, where fragmentation makes RSS grow with the file size. Fixed
/// thresholds keep every part buffer mmapped (returned to the OS when freed) and arenas few.
// The one unsafe call of the workspace: libc's mallopt has no safe wrapper.
#[allow(unsafe_code)]
fn bound_allocator() {
    // SAFETY: mallopt only adjusts allocator parameters; called once before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The invocation's deadline (`Lambda-Runtime-Deadline-Ms`) less [`sqs::DEADLINE_MARGIN`], as a
/// tokio instant; `None` when Lambda gave none.
fn invocation_deadline(deadline_ms: u64) -> Option<tokio::time::Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let deadline = std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(sqs::DEADLINE_MARGIN);
    Some(tokio::time::Instant::now() + left)
}

fn main() -> Result<(), Error> {
    bound_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env_for(Config::MEDIA_FETCHER_VARIABLES)?;
    let clients = Clients::new(&load_sdk_config(AwsTimeouts::MEDIA_FETCHER).await);
    let metrics =
        Arc::new(EmfMetrics::new("media-fetcher").with_namespace(config.metrics_namespace.clone()));
    let archiver = Arc::new(archiver_service(&config, &clients, metrics.clone())?);
    let sweep = Arc::new(media_sweep_service(&config, &clients, metrics.clone()));
    let postpone = Arc::new(SqsPostpone(SqsJobQueue::new(
        clients.sqs.clone(),
        config.media_queue_url.clone(),
    )));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (archiver, sweep, postpone, metrics) = (
            archiver.clone(),
            sweep.clone(),
            postpone.clone(),
            metrics.clone(),
        );
        async move {
            let response = if event.payload.get("Records").is_some() {
                let batch: sqs::SqsEvent = serde_json::from_value(event.payload)?;
                let deadline = invocation_deadline(event.context.deadline);
                serde_json::to_value(
                    sqs::handle(&archiver, postpone.as_ref(), batch, deadline).await,
                )?
            } else if event.payload.get("action").and_then(|a| a.as_str())
                == Some("redrive-dead-lettered")
            {
                // The operator's redrive (README runbook "DLQ not empty").
                let redriven = sweep.redrive_dead_lettered().await?;
                tracing::info!(event = "media_redrive", redriven);
                serde_json::json!({ "redriven": redriven })
            } else {
                // The schedule (or an operator): sweep. Errors fail the invocation (alarmed).
                let report = sweep.run().await?;
                tracing::info!(
                    event = "media_sweep",
                    pending = report.pending,
                    reenqueued = report.reenqueued,
                    at_risk = report.at_risk,
                    lost = report.lost,
                    dead_lettered = report.dead_lettered
                );
                serde_json::json!({
                    "pending": report.pending, "reenqueued": report.reenqueued,
                    "at_risk": report.at_risk, "lost": report.lost,
                    "dead_lettered": report.dead_lettered,
                })
            };
            wavault_core::ports::Metrics::flush(metrics.as_ref());
            Ok::<_, Error>(response)
        }
    }))
    .await
}
