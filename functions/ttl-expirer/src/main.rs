//! wavault ttl-expirer Lambda. Two triggers, one job: whatever the retention clock removes takes
//! its media and journal objects with it, audited without personal data.
//! - DynamoDB stream (filtered to TTL removals): clean up after each removed item; a failure
//!   reports the batch item so Lambda retries from it.
//! - EventBridge hourly (`{"action": "sweep"}` or a `Scheduled Event`): delete what has expired
//!   but TTL has not removed yet.

mod stream;
mod wiring;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_core::config::ExpirerConfig;
use wavault_core::expiry::Expirer;
use wavault_core::metrics::EmfMetrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = ExpirerConfig::from_env()?;
    let sdk = load_sdk_config(AwsTimeouts::TTL_EXPIRER).await;
    let metrics =
        Arc::new(EmfMetrics::new("ttl-expirer").with_namespace(config.metrics_namespace.clone()));
    let expirer = Arc::new(wiring::expirer_service(&config, &sdk, metrics.clone()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (expirer, metrics) = (expirer.clone(), metrics.clone());
        async move {
            let response = if event.payload.get("Records").is_some() {
                let batch: stream::StreamEvent = serde_json::from_value(event.payload)?;
                serde_json::to_value(after_ttl(&expirer, batch).await)?
            } else {
                // The schedule (or an operator): sweep. Errors fail the invocation (alarmed).
                let report = expirer.sweep().await?;
                serde_json::json!({
                    "records_expired": report.records_expired,
                    "media_deleted": report.media_deleted,
                    "journal_deleted": report.journal_deleted,
                    "bytes_freed": report.bytes_freed,
                    "hours_swept": report.hours_swept,
                })
            };
            wavault_core::ports::Metrics::flush(metrics.as_ref());
            Ok::<_, Error>(response)
        }
    }))
    .await
}

/// Cleans up after the batch's TTL removals; anything else in the batch is skipped.
async fn after_ttl(expirer: &Expirer, batch: stream::StreamEvent) -> stream::BatchResponse {
    let mut items = Vec::new();
    let mut sequence_numbers = Vec::new();
    let mut skipped = 0;
    for record in &batch.records {
        match record.expired_item().filter(|_| record.is_ttl_removal()) {
            Some(item) => {
                items.push(item);
                sequence_numbers.push(record.dynamodb.sequence_number.clone());
            }
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::info!(event = "stream_records_skipped", skipped);
    }
    let (_, failure) = expirer.after_ttl_removals(&items).await;
    let mut response = stream::BatchResponse::default();
    if let Some((index, error)) = failure {
        tracing::warn!(event = "ttl_cleanup_failed", error = %error);
        if let Some(sequence_number) = sequence_numbers.get(index) {
            response.batch_item_failures.push(stream::ItemFailure {
                item_identifier: sequence_number.clone(),
            });
        }
    }
    response
}
