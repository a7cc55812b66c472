//! The retention use case wired to DynamoDB (the expiry index, deletes) and S3 (object deletes).

use std::sync::Arc;

use aws_config::SdkConfig;
use wavault_aws::expiry_dynamodb::DynamoExpiringRecords;
use wavault_aws::s3::S3ArchiveObjects;
use wavault_core::clock::SystemClock;
use wavault_core::config::TtlExpirerSettings;
use wavault_core::metrics::{EmfMetrics, Metrics};
use wavault_core::retention::Expirer;

/// The function's EMF metrics, in the stack's namespace.
pub fn metrics(settings: &TtlExpirerSettings) -> Arc<EmfMetrics> {
    Arc::new(EmfMetrics::new("ttl-expirer").with_namespace(settings.metrics.namespace.clone()))
}

/// Builds the two clients the expirer uses (DynamoDB, S3) and the use case over them.
pub fn expirer_service(
    settings: &TtlExpirerSettings,
    sdk: &SdkConfig,
    metrics: Arc<dyn Metrics>,
) -> Expirer {
    Expirer {
        records: Arc::new(DynamoExpiringRecords::new(
            aws_sdk_dynamodb::Client::new(sdk),
            settings.records.name.clone(),
        )),
        objects: Arc::new(S3ArchiveObjects::new(
            wavault_aws::sdk::s3_client(sdk),
            settings.archive.name.clone(),
        )),
        clock: Arc::new(SystemClock),
        metrics,
    }
}
