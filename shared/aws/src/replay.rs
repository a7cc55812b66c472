//! `wavault replay` against AWS: the journal listed and read from S3, and the webhook's
//! [`Recorder`] over DynamoDB, SQS and the contact-hash key (no Meta secret: a replay verifies no
//! signature).

use crate::classify;
use async_trait::async_trait;
use std::sync::Arc;
use wavault_core::clock::{Clock, SystemClock};
use wavault_core::config::ReplaySettings;
use wavault_core::error::PortError;
use wavault_core::ingest::{JournalEntry, JournalSource, Recorder, Replayer, StoredBody};
use wavault_core::metrics::Metrics;
use wavault_core::retention::RetentionPolicy;
use wavault_core::secrets::{self, SecretCache, SecretSource};

/// The journal in the archive bucket, as a replay reads it.
pub struct S3JournalSource {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3JournalSource {
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { client, bucket }
    }
}

#[async_trait]
impl JournalSource for S3JournalSource {
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, PortError> {
        let mut entries = Vec::new();
        let mut token = None;
        loop {
            // StartAfter counts only on the first page; the continuation token carries it on.
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_start_after(start_after.map(str::to_owned))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| classify("s3", &e))?;
            entries.extend(page.contents().iter().filter_map(|object| {
                Some(JournalEntry {
                    key: object.key()?.to_owned(),
                    last_modified: object.last_modified().map(|at| at.secs()),
                })
            }));
            match page.next_continuation_token {
                Some(next) if page.is_truncated == Some(true) && entries.len() < limit => {
                    token = Some(next)
                }
                _ => return Ok(entries),
            }
        }
    }

    async fn read(&self, key: &str) -> Result<Option<StoredBody>, PortError> {
        let Some(output) = crate::s3::get_if_present(&self.client, &self.bucket, key).await? else {
            return Ok(None);
        };
        let received_at = output
            .metadata()
            .and_then(|m| m.get(crate::s3::RECEIVED_AT_METADATA))
            .and_then(|at| at.parse().ok());
        let last_modified = output.last_modified().map(|at| at.secs());
        let body = output.body.collect().await.map_err(|e| {
            PortError::unavailable("s3", "reading the journal object").caused_by(&e)
        })?;
        Ok(Some(StoredBody {
            body: body.into_bytes().to_vec(),
            received_at,
            last_modified,
        }))
    }
}

/// The replay use case over the stack's table, queue, bucket and contact-hash key.
pub fn replayer(
    settings: &ReplaySettings,
    sdk: &aws_config::SdkConfig,
    metrics: Arc<dyn Metrics>,
    progress_every: usize,
) -> Replayer {
    let s3 = crate::sdk::s3_client(sdk);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let source: Arc<dyn SecretSource> = Arc::new(crate::secretsmanager::SecretsManagerSource::new(
        aws_sdk_secretsmanager::Client::new(sdk),
    ));
    let recorder = Recorder {
        // Never written: a replay reads the journal and records what it holds.
        journal: Arc::new(crate::s3::S3Journal::new(
            s3.clone(),
            settings.archive.name.clone(),
            None,
        )),
        records: Arc::new(crate::dynamodb::DynamoRecordStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            settings.records.name.clone(),
        )),
        queue: Arc::new(crate::sqs::SqsJobQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            settings.queue.url.clone(),
        )),
        contact_hash_key: Arc::new(SecretCache::new(
            source,
            clock.clone(),
            settings.contact_hash_secret.id.clone(),
            i64::MAX,
            secrets::parse_contact_hash_key,
        )),
        clock,
        metrics,
        retention: RetentionPolicy::days(settings.retention.days),
        media_deadline_days: settings.media_deadline.days,
    };
    Replayer {
        recorder: Arc::new(recorder),
        journal: Arc::new(S3JournalSource::new(s3, settings.archive.name.clone())),
        progress_every,
        listing_limit: usize::MAX,
    }
}
