//! wavault webhook Lambda: API Gateway HTTP API / Function URL -> verify, journal, record, enqueue.

mod wiring;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_core::config::WebhookSettings;
use webhook::http;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = WebhookSettings::from_env()?;
    // Every AWS call gives up well inside the 10 s Lambda timeout (AwsTimeouts::WEBHOOK), and
    // the handler answers before the deadline whatever the sum (http::handle_within).
    let sdk = load_sdk_config(AwsTimeouts::WEBHOOK, &settings.aws).await;
    let metrics = wiring::metrics(&settings);
    let ingest = Arc::new(wiring::ingest_service(&settings, &sdk, metrics.clone()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<http::HttpEvent>| {
        let (ingest, metrics) = (ingest.clone(), metrics.clone());
        async move {
            let budget = http::budget(event.context.deadline, std::time::SystemTime::now());
            Ok::<_, Error>(
                http::handle_within(&ingest, metrics.as_ref(), event.payload, budget).await,
            )
        }
    }))
    .await
}
