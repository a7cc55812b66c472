//! wavault media fetcher Lambda: SQS media jobs -> Graph -> S3, verified; partial batch failures.
//! The same function runs the media sweep on its EventBridge schedule and the redrive of
//! dead-lettered media (the triggers: `invocation.rs`).

mod invocation;
mod sqs;
mod wiring;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_core::config::Config;
use wavault_core::metrics::EmfMetrics;

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
    let clients = wiring::Clients::new(&load_sdk_config(AwsTimeouts::MEDIA_FETCHER).await);
    let metrics =
        Arc::new(EmfMetrics::new("media-fetcher").with_namespace(config.metrics_namespace.clone()));
    let services = Arc::new(wiring::services(&config, &clients, metrics.clone())?);
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
