//! wavault ttl-expirer Lambda. Two triggers, one job: whatever the retention clock removes takes
//! its media and journal objects with it, audited without personal data. The DynamoDB stream's
//! TTL removals are cleaned up after one by one, and an hourly sweep deletes what has expired but
//! TTL has not removed yet (the triggers: `invocation.rs`).

mod invocation;
mod stream;
mod wiring;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_core::config::TtlExpirerSettings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = TtlExpirerSettings::from_env()?;
    let sdk = load_sdk_config(AwsTimeouts::TTL_EXPIRER, &settings.aws).await;
    let metrics = wiring::metrics(&settings);
    let expirer = Arc::new(wiring::expirer_service(&settings, &sdk, metrics.clone()));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<invocation::Invocation>| {
            let (expirer, metrics) = (expirer.clone(), metrics.clone());
            async move {
                let response = invocation::handle(&expirer, event.payload).await;
                wavault_core::metrics::Metrics::flush(metrics.as_ref());
                response
            }
        },
    ))
    .await
}
