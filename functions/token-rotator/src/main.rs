//! wavault token rotator Lambda: Secrets Manager's four rotation steps (`{Step, SecretId,
//! ClientRequestToken}`) and an EventBridge schedule (the whole rotation, or `{"action":"check"}`
//! to only report the current token's days to expiry) go through one use case.

mod event;
mod wiring;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_core::config::RotatorConfig;
use wavault_core::metrics::EmfMetrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Arc::new(RotatorConfig::from_env()?);
    let sdk = load_sdk_config(AwsTimeouts::TOKEN_ROTATOR).await;
    let metrics =
        Arc::new(EmfMetrics::new("token-rotator").with_namespace(config.metrics_namespace.clone()));
    let rotator = Arc::new(wiring::rotator_service(&config, &sdk, metrics.clone())?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<event::Invocation>| {
        let (rotator, config, metrics) = (rotator.clone(), config.clone(), metrics.clone());
        async move {
            let result = event::handle(&rotator, &config, event).await;
            wavault_core::metrics::Metrics::flush(metrics.as_ref());
            result
        }
    }))
    .await
}
