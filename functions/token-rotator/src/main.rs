//! wavault token rotator Lambda: Secrets Manager's four rotation steps (`{Step, SecretId,
//! ClientRequestToken}`) and an EventBridge schedule (the whole rotation, or `{"action":"check"}`
//! to only report the current token's days to expiry) go through one use case.

mod event;
mod wiring;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_core::config::TokenRotatorSettings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Arc::new(TokenRotatorSettings::from_env()?);
    let sdk = load_sdk_config(AwsTimeouts::TOKEN_ROTATOR, &settings.aws).await;
    let metrics = wiring::metrics(&settings);
    let rotator = Arc::new(wiring::rotator_service(&settings, &sdk, metrics.clone())?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<event::Invocation>| {
        let (rotator, settings, metrics) = (rotator.clone(), settings.clone(), metrics.clone());
        async move {
            let result = event::handle(&rotator, &settings, event).await;
            wavault_core::metrics::Metrics::flush(metrics.as_ref());
            result
        }
    }))
    .await
}
