//! The rotation use case wired to Secrets Manager (the Meta secret's versions) and Graph's token endpoints.

use std::sync::Arc;

use aws_config::SdkConfig;
use wavault_aws::rotation_aws::SecretsManagerVersions;
use wavault_core::clock::SystemClock;
use wavault_core::config::RotatorConfig;
use wavault_core::metrics::Metrics;
use wavault_core::rotation::Rotator;
use wavault_graph::{GraphClientBuildError, HttpTokenGraph};

/// Builds the one client the rotator uses (Secrets Manager) and the use case over it.
pub fn rotator_service(
    config: &RotatorConfig,
    sdk: &SdkConfig,
    metrics: Arc<dyn Metrics>,
) -> Result<Rotator, GraphClientBuildError> {
    Ok(Rotator {
        secrets: Arc::new(SecretsManagerVersions::new(
            aws_sdk_secretsmanager::Client::new(sdk),
        )),
        graph: Arc::new(HttpTokenGraph::new(
            &config.graph_api_base_url,
            &config.graph_api_version,
        )?),
        clock: Arc::new(SystemClock),
        metrics,
        strategy: config.rotation_strategy,
        phone_number_id: config.phone_number_id.clone(),
    })
}
