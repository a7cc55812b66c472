//! wavault token rotator Lambda: Secrets Manager's four rotation steps (`{Step, SecretId,
//! ClientRequestToken}`) and an EventBridge schedule (the whole rotation, or `{"action":"check"}`
//! to only report the current token's days to expiry) go through one use case.

mod event;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault::adapters::aws::{load_sdk_config, AwsClients, AwsTimeouts};
use wavault::adapters::rotator_service;
use wavault::config::RotatorConfig;
use wavault::metrics::EmfMetrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Arc::new(RotatorConfig::from_env()?);
    let clients = AwsClients::new(&load_sdk_config(AwsTimeouts::TOKEN_ROTATOR).await);
    let metrics =
        Arc::new(EmfMetrics::new("token-rotator").with_namespace(config.metrics_namespace.clone()));
    let rotator = Arc::new(rotator_service(&config, &clients, metrics.clone())?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (rotator, config, metrics) = (rotator.clone(), config.clone(), metrics.clone());
        async move {
            let result = event::handle(&rotator, &config, event).await;
            wavault::ports::Metrics::flush(metrics.as_ref());
            result
        }
    }))
    .await
}
