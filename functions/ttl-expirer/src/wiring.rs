//! The retention use case wired to DynamoDB (the expiry index, deletes) and S3 (object deletes).

use std::sync::Arc;

use aws_config::SdkConfig;
use wavault_aws::expiry_dynamodb::DynamoExpiringRecords;
use wavault_aws::s3::S3ArchiveObjects;
use wavault_core::clock::SystemClock;
use wavault_core::config::ExpirerConfig;
use wavault_core::metrics::Metrics;
use wavault_core::retention::Expirer;

/// Builds the two clients the expirer uses (DynamoDB, S3) and the use case over them.
pub fn expirer_service(
    config: &ExpirerConfig,
    sdk: &SdkConfig,
    metrics: Arc<dyn Metrics>,
) -> Expirer {
    Expirer {
        records: Arc::new(DynamoExpiringRecords::new(
            aws_sdk_dynamodb::Client::new(sdk),
            config.records_table.clone(),
        )),
        objects: Arc::new(S3ArchiveObjects::new(
            wavault_aws::sdk::s3_client(sdk),
            config.archive_bucket.clone(),
        )),
        clock: Arc::new(SystemClock),
        metrics,
    }
}
