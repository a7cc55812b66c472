//! The media archiver and the media sweep wired to AWS (DynamoDB, S3, SQS, the Meta secret) and the Graph API.

use std::sync::Arc;

use crate::invocation::Services;
use aws_config::SdkConfig;
use wavault_aws::{dynamodb, s3, secretsmanager, sqs};
use wavault_core::clock::{Clock, SystemClock};
use wavault_core::config::Config;
use wavault_core::media::Archiver;
use wavault_core::media::DeadLetters;
use wavault_core::media::MediaSweep;
use wavault_core::metrics::Metrics;
use wavault_graph::{GraphClientBuildError, HttpGraphClient};

/// The clients the media fetcher uses, built once at init.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            s3: wavault_aws::sdk::s3_client(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            secretsmanager: aws_sdk_secretsmanager::Client::new(sdk),
        }
    }
}

/// Postpones a retried job's next delivery (SQS ChangeMessageVisibility on the media queue).
pub struct SqsPostpone(pub sqs::SqsJobQueue);

#[async_trait::async_trait]
impl crate::sqs::Postpone for SqsPostpone {
    async fn postpone(&self, receipt_handle: &str, seconds: i32) {
        if let Err(error) = self.0.postpone(receipt_handle, seconds).await {
            // The message still returns after the queue's visibility timeout.
            tracing::warn!(event = "postpone_failed", error = %error);
        }
    }
}

/// Wires everything the fetcher's invocations use.
pub fn services(
    config: &Config,
    clients: &Clients,
    metrics: Arc<dyn Metrics>,
) -> Result<Services, GraphClientBuildError> {
    Ok(Services {
        archiver: archiver_service(config, clients, metrics.clone())?,
        sweep: media_sweep_service(config, clients, metrics),
        postpone: Box::new(SqsPostpone(sqs::SqsJobQueue::new(
            clients.sqs.clone(),
            config.media_queue_url.clone(),
        ))),
    })
}

/// Wires the media archiver.
pub fn archiver_service(
    config: &Config,
    clients: &Clients,
    metrics: Arc<dyn Metrics>,
) -> Result<Archiver, GraphClientBuildError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(Archiver {
        graph: Arc::new(HttpGraphClient::with_download_hosts(
            &config.graph_api_base_url,
            &config.graph_api_version,
            &config.media_download_hosts,
        )?),
        store: Arc::new(s3::S3MediaStore::new(
            clients.s3.clone(),
            config.archive_bucket.clone(),
            config.kms_key_id.clone(),
        )),
        records: Arc::new(dynamodb::DynamoRecordStore::new(
            clients.dynamodb.clone(),
            config.records_table.clone(),
        )),
        meta_secret: secretsmanager::meta_secret_cache(
            &clients.secretsmanager,
            &config.meta_secret_id,
            clock.clone(),
            metrics.clone(),
        ),
        clock,
        metrics,
    })
}

/// Wires the media sweep.
pub fn media_sweep_service(
    config: &Config,
    clients: &Clients,
    metrics: Arc<dyn Metrics>,
) -> MediaSweep {
    let records = Arc::new(dynamodb::DynamoRecordStore::new(
        clients.dynamodb.clone(),
        config.records_table.clone(),
    ));
    MediaSweep {
        index: records.clone(),
        queue: Arc::new(sqs::SqsJobQueue::new(
            clients.sqs.clone(),
            config.media_queue_url.clone(),
        )),
        records,
        dead_letters: config.media_dlq_url.clone().map(|url| {
            Arc::new(sqs::SqsDeadLetters::new(clients.sqs.clone(), url)) as Arc<dyn DeadLetters>
        }),
        clock: Arc::new(SystemClock),
        metrics,
    }
}
