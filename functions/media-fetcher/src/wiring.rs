//! The media archiver and the media sweep wired to AWS (DynamoDB, S3, SQS, the Meta secret) and the Graph API,
//! and the process set-up the fetcher needs before any of it (the allocator).

use std::sync::Arc;

use crate::invocation::Services;
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_aws::{dynamodb, s3, secretsmanager, sqs};
use wavault_core::clock::{Clock, SystemClock};
use wavault_core::config::MediaFetcherSettings;
use wavault_core::media::Archiver;
use wavault_core::media::DeadLetters;
use wavault_core::media::MediaSweep;
use wavault_core::metrics::{EmfMetrics, Metrics};
use wavault_graph::{GraphClientBuildError, HttpGraphClient};

/// Part buffers are 8 MiB; glibc's adaptive mmap threshold would otherwise move them onto the
/// heap after the first free, where fragmentation makes RSS grow with the file size. Fixed
/// thresholds keep every part buffer mmapped (returned to the OS when freed) and arenas few.
// The one unsafe call of the workspace: libc's mallopt has no safe wrapper.
#[allow(unsafe_code)]
pub fn bound_allocator() {
    // SAFETY: mallopt only adjusts allocator parameters; called once before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The clients the media fetcher uses (all four: the archiver's DynamoDB, S3 and Secrets Manager,
/// the sweep's and the retries' SQS), built once at init.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    /// The replay action builds its clients from it when asked (nothing at init).
    pub sdk: aws_config::SdkConfig,
}

impl Clients {
    /// Every call gives up inside the 300 s Lambda timeout ([`AwsTimeouts::MEDIA_FETCHER`]).
    pub async fn load(settings: &MediaFetcherSettings) -> Self {
        let sdk = load_sdk_config(AwsTimeouts::MEDIA_FETCHER, &settings.aws).await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            s3: wavault_aws::sdk::s3_client(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            secretsmanager: aws_sdk_secretsmanager::Client::new(&sdk),
            sdk,
        }
    }
}

/// The function's EMF metrics, in the stack's namespace.
pub fn metrics(settings: &MediaFetcherSettings) -> Arc<EmfMetrics> {
    Arc::new(EmfMetrics::new("media-fetcher").with_namespace(settings.metrics.namespace.clone()))
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
    settings: &MediaFetcherSettings,
    clients: &Clients,
    metrics: Arc<dyn Metrics>,
) -> Result<Services, GraphClientBuildError> {
    Ok(Services {
        archiver: archiver_service(settings, clients, metrics.clone())?,
        replay: ReplayWiring {
            settings: settings.replay(),
            sdk: clients.sdk.clone(),
            metrics: metrics.clone(),
        },
        sweep: media_sweep_service(settings, clients, metrics),
        postpone: Box::new(SqsPostpone(sqs::SqsJobQueue::new(
            clients.sqs.clone(),
            settings.queue.url.clone(),
        ))),
    })
}

/// What the replay action is built from, on the invocation that asks for it (rare: an
/// operator's), so the fetcher's start builds nothing for it.
pub struct ReplayWiring {
    pub settings: wavault_core::config::ReplaySettings,
    pub sdk: aws_config::SdkConfig,
    pub metrics: Arc<dyn Metrics>,
}

impl ReplayWiring {
    /// The replayer over the stack's journal, table, queue and contact-hash key, listing at most
    /// [`crate::replay::LISTING_LIMIT`] objects a run.
    pub fn replayer(&self) -> wavault_core::ingest::Replayer {
        let mut replayer =
            wavault_aws::replay::replayer(&self.settings, &self.sdk, self.metrics.clone(), 1);
        replayer.listing_limit = crate::replay::LISTING_LIMIT;
        replayer
    }
}

/// Wires the media archiver.
pub fn archiver_service(
    settings: &MediaFetcherSettings,
    clients: &Clients,
    metrics: Arc<dyn Metrics>,
) -> Result<Archiver, GraphClientBuildError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(Archiver {
        graph: Arc::new(HttpGraphClient::with_download_hosts(
            &settings.graph.base_url,
            &settings.graph.version,
            &settings.download_hosts.hosts,
        )?),
        store: Arc::new(s3::S3MediaStore::new(
            clients.s3.clone(),
            settings.archive.name.clone(),
            settings.encryption.kms_key_id.clone(),
        )),
        records: Arc::new(dynamodb::DynamoRecordStore::new(
            clients.dynamodb.clone(),
            settings.records.name.clone(),
        )),
        meta_secret: secretsmanager::meta_secret_cache(
            &clients.secretsmanager,
            &settings.meta_secret.id,
            clock.clone(),
            metrics.clone(),
        ),
        clock,
        metrics,
    })
}

/// Wires the media sweep.
pub fn media_sweep_service(
    settings: &MediaFetcherSettings,
    clients: &Clients,
    metrics: Arc<dyn Metrics>,
) -> MediaSweep {
    let records = Arc::new(dynamodb::DynamoRecordStore::new(
        clients.dynamodb.clone(),
        settings.records.name.clone(),
    ));
    let queue = Arc::new(sqs::SqsJobQueue::new(
        clients.sqs.clone(),
        settings.queue.url.clone(),
    ));
    MediaSweep {
        index: records.clone(),
        queue: queue.clone(),
        backlog: queue,
        records,
        dead_letters: settings.dead_letters.url.clone().map(|url| {
            Arc::new(sqs::SqsDeadLetters::new(clients.sqs.clone(), url)) as Arc<dyn DeadLetters>
        }),
        clock: Arc::new(SystemClock),
        metrics,
    }
}
