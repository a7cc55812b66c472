//! A replay against AWS: the journal listed and read from S3, and the webhook's recorder
//! ([`crate::recording`]) over DynamoDB, SQS and the contact-hash key (no Meta secret: a replay
//! verifies no signature).

use crate::classify;
use crate::recording::{recorder, RecorderResources};
use async_trait::async_trait;
use std::sync::Arc;
use wavault_core::clock::SystemClock;
use wavault_core::config::ReplaySettings;
use wavault_core::error::PortError;
use wavault_core::ingest::{JournalEntry, JournalSource, Replayer, StoredBody};
use wavault_core::metrics::Metrics;
use wavault_core::secrets::SecretSource;

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
    let source: Arc<dyn SecretSource> = Arc::new(crate::secretsmanager::SecretsManagerSource::new(
        aws_sdk_secretsmanager::Client::new(sdk),
    ));
    let resources = RecorderResources {
        records_table: &settings.records.name,
        archive_bucket: &settings.archive.name,
        journal_kms_key_id: None,
        media_queue_url: &settings.queue.url,
        contact_hash_secret_id: &settings.contact_hash_secret.id,
        retention_days: settings.retention.days,
        media_deadline_days: settings.media_deadline.days,
    };
    let recorder = recorder(sdk, &resources, source, Arc::new(SystemClock), metrics);
    Replayer {
        recorder: Arc::new(recorder),
        journal: Arc::new(S3JournalSource::new(s3, settings.archive.name.clone())),
        progress_every,
        listing_limit: usize::MAX,
    }
}
