//! The ingest use case wired to AWS: DynamoDB records, the S3 journal, SQS media jobs and the two secrets.

use std::sync::Arc;

use aws_config::SdkConfig;
use wavault_aws::recording::{recorder, RecorderResources};
use wavault_aws::secretsmanager;
use wavault_core::clock::{Clock, SystemClock};
use wavault_core::config::WebhookSettings;
use wavault_core::ingest::Ingest;
use wavault_core::metrics::{EmfMetrics, Metrics};
use wavault_core::secrets::SecretSource;

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
    let resources = RecorderResources {
        records_table: &settings.records.name,
        archive_bucket: &settings.archive.name,
        journal_kms_key_id: settings.encryption.kms_key_id.as_deref(),
        media_queue_url: &settings.queue.url,
        contact_hash_secret_id: &settings.contact_hash_secret.id,
        retention_days: settings.retention.days,
        media_deadline_days: settings.media_deadline.days,
    };
    let recorder = recorder(sdk, &resources, source, clock.clone(), metrics.clone());
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
