//! The ingest use case wired to AWS: DynamoDB records, the S3 journal, SQS media jobs and the two secrets.

use std::sync::Arc;

use aws_config::SdkConfig;
use wavault_aws::{dynamodb, s3, secretsmanager, sqs};
use wavault_core::clock::{Clock, SystemClock};
use wavault_core::config::WebhookSettings;
use wavault_core::ingest::{Ingest, Recorder};
use wavault_core::metrics::{EmfMetrics, Metrics};
use wavault_core::retention::RetentionPolicy;
use wavault_core::secrets::SecretSource;
use wavault_core::secrets::{self, SecretCache};

/// The function's EMF metrics, in the stack's namespace.
pub fn metrics(settings: &WebhookSettings) -> Arc<EmfMetrics> {
    Arc::new(EmfMetrics::new("webhook").with_namespace(settings.metrics.namespace.clone()))
}

/// Builds the clients the webhook uses (DynamoDB, S3, SQS, Secrets Manager: all four, and only
/// those) and the use case over them.
pub fn ingest_service(
    settings: &WebhookSettings,
    sdk: &SdkConfig,
    metrics: Arc<dyn Metrics>,
) -> Ingest {
    let secrets_client = aws_sdk_secretsmanager::Client::new(sdk);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let source: Arc<dyn SecretSource> = Arc::new(secretsmanager::SecretsManagerSource::new(
        secrets_client.clone(),
    ));
    let recorder = Recorder {
        journal: Arc::new(s3::S3Journal::new(
            wavault_aws::sdk::s3_client(sdk),
            settings.archive.name.clone(),
            settings.encryption.kms_key_id.clone(),
        )),
        records: Arc::new(dynamodb::DynamoRecordStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            settings.records.name.clone(),
        )),
        queue: Arc::new(sqs::SqsJobQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            settings.queue.url.clone(),
        )),
        // The hash key never rotates (that would orphan every contact index): cache it for the
        // life of the instance.
        contact_hash_key: Arc::new(SecretCache::new(
            source,
            clock.clone(),
            settings.contact_hash_secret.id.clone(),
            i64::MAX,
            secrets::parse_contact_hash_key,
        )),
        clock: clock.clone(),
        metrics: metrics.clone(),
        retention: RetentionPolicy::days(settings.retention.days),
        media_deadline_days: settings.media_deadline.days,
    };
    Ingest {
        recorder,
        meta_secret: secretsmanager::meta_secret_cache(
            &secrets_client,
            &settings.meta_secret.id,
            clock,
            metrics,
        ),
    }
}
