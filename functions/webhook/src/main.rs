//! wavault webhook Lambda: API Gateway HTTP API / Function URL -> verify, journal, record, enqueue.

mod http;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault::adapters::{aws::AwsClients, ingest_service};
use wavault::config::Config;
use wavault::metrics::EmfMetrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env_for(Config::WEBHOOK_VARIABLES)?;
    let clients = AwsClients::new(&wavault::adapters::aws::load_sdk_config().await);
    let ingest = Arc::new(ingest_service(
        &config,
        &clients,
        Arc::new(EmfMetrics::new("webhook").with_namespace(config.metrics_namespace.clone())),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<http::HttpEvent>| {
        let ingest = ingest.clone();
        async move { Ok::<_, Error>(http::handle(&ingest, event.payload).await) }
    }))
    .await
}
