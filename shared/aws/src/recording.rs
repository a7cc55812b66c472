//! The webhook's [`Recorder`] (what makes a verified body durable: journal, records, media jobs)
//! over S3, DynamoDB, SQS and the contact-hash key, built the same way for every caller: the
//! webhook, and the replays (`wavault replay`, the media fetcher's replay action).

use std::sync::Arc;

use wavault_core::clock::Clock;
use wavault_core::ingest::Recorder;
use wavault_core::metrics::Metrics;
use wavault_core::retention::RetentionPolicy;
use wavault_core::secrets::{self, SecretCache, SecretSource};

/// The stack's resources and clocks a recorder writes with.
pub struct RecorderResources<'a> {
    pub records_table: &'a str,
    pub archive_bucket: &'a str,
    /// The key journal objects are written with (`None`: SSE-S3). A replay never writes one.
    pub journal_kms_key_id: Option<&'a str>,
    pub media_queue_url: &'a str,
    pub contact_hash_secret_id: &'a str,
    pub retention_days: u32,
    pub media_deadline_days: u32,
}

/// The recorder over `sdk`'s clients; `secrets` reads the contact-hash key.
pub fn recorder(
    sdk: &aws_config::SdkConfig,
    resources: &RecorderResources<'_>,
    secrets: Arc<dyn SecretSource>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn Metrics>,
) -> Recorder {
    Recorder {
        journal: Arc::new(crate::s3::S3Journal::new(
            crate::sdk::s3_client(sdk),
            resources.archive_bucket.to_owned(),
            resources.journal_kms_key_id.map(str::to_owned),
        )),
        records: Arc::new(crate::dynamodb::DynamoRecordStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            resources.records_table.to_owned(),
        )),
        queue: Arc::new(crate::sqs::SqsJobQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            resources.media_queue_url.to_owned(),
        )),
        // The hash key never rotates (that would orphan every contact index): cached for the life
        // of the process.
        contact_hash_key: Arc::new(SecretCache::new(
            secrets,
            clock.clone(),
            resources.contact_hash_secret_id.to_owned(),
            i64::MAX,
            secrets::parse_contact_hash_key,
        )),
        clock,
        metrics,
        retention: RetentionPolicy::days(resources.retention_days),
        media_deadline_days: resources.media_deadline_days,
    }
}
