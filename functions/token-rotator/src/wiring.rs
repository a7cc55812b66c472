//! The rotation use case wired to Secrets Manager (the Meta secret's versions) and Graph's token endpoints.

use std::sync::Arc;

use aws_config::SdkConfig;
use wavault_aws::rotation_aws::SecretsManagerVersions;
use wavault_core::clock::SystemClock;
use wavault_core::config::TokenRotatorSettings;
use wavault_core::metrics::{EmfMetrics, Metrics};
use wavault_core::rotation::Rotator;
use wavault_graph::{GraphClientBuildError, HttpTokenGraph};

/// The function's EMF metrics, in the stack's namespace.
pub fn metrics(settings: &TokenRotatorSettings) -> Arc<EmfMetrics> {
    Arc::new(EmfMetrics::new("token-rotator").with_namespace(settings.metrics.namespace.clone()))
}

/// Builds the one client the rotator uses (Secrets Manager) and the use case over it.
pub fn rotator_service(
    settings: &TokenRotatorSettings,
    sdk: &SdkConfig,
    metrics: Arc<dyn Metrics>,
) -> Result<Rotator, GraphClientBuildError> {
    Ok(Rotator {
        secrets: Arc::new(SecretsManagerVersions::new(
            aws_sdk_secretsmanager::Client::new(sdk),
        )),
        graph: Arc::new(HttpTokenGraph::new(
            &settings.graph.base_url,
            &settings.graph.version,
        )?),
        clock: Arc::new(SystemClock),
        metrics,
        strategy: settings.rotation.strategy,
        phone_number_id: settings.rotation.phone_number_id.clone(),
    })
}
