//! wavault media fetcher Lambda: SQS media jobs -> Graph -> S3, verified; partial batch failures.
//! The same function runs the media sweep on its EventBridge schedule and the redrive of
//! dead-lettered media (the triggers: `invocation.rs`).

mod invocation;
mod replay;
mod sqs;
mod wiring;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault_core::config::MediaFetcherSettings;

fn main() -> Result<(), Error> {
    // Before the runtime starts any thread.
    wiring::bound_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = MediaFetcherSettings::from_env()?;
    let clients = wiring::Clients::load(&settings).await;
    let metrics = wiring::metrics(&settings);
    let services = Arc::new(wiring::services(&settings, &clients, metrics.clone())?);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<invocation::Invocation>| {
            let (services, metrics) = (services.clone(), metrics.clone());
            async move {
                let response = invocation::handle(&services, event).await;
                wavault_core::metrics::Metrics::flush(metrics.as_ref());
                response
            }
        },
    ))
    .await
}
