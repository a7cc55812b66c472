//! Erasure and export against AWS: the contact indexes and tombstones in DynamoDB (the core's
//! typed items through [`crate::item_codec`]), journal objects and streamed media in S3, and the
//! wiring the `wavault` tool uses.

use crate::classify;
use crate::item_codec;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::Arc;
use wavault_core::contact::ContactHasher;
use wavault_core::contact::{
    ContactIndex, ContactRecords, Eraser, JournalObjects, Tombstone, TombstoneWrite,
};
use wavault_core::contact::{ObjectChunks, ObjectSource};
use wavault_core::error::PortError;
use wavault_core::metrics::Metrics;
use wavault_core::records::attributes::{
    CONTACT_PARENT_HASH, CONTACT_USER_HASH, CONTACT_WA_HASH, KIND, MEDIA_KEY, PK,
};
use wavault_core::records::{ItemKey, ItemKind, StoredItem};

use wavault_core::contact::contact_index_name;

/// What the operator tool reads from the environment: the functions' variable names, and only
/// those it needs (no queue, no Meta secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDataConfig {
    /// `RECORDS_TABLE`.
    pub records_table: String,
    /// `ARCHIVE_BUCKET`.
    pub archive_bucket: String,
    /// `CONTACT_HASH_SECRET_ID`.
    pub contact_hash_secret_id: String,
    /// `KMS_KEY_ID`: redacted journal objects are written as the webhook writes them.
    pub kms_key_id: Option<String>,
}

/// The clients erasure and export use (the operator tool builds only these).
#[derive(Debug, Clone)]
pub struct ContactClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
}

impl ContactClients {
    /// Builds the three clients from one configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            s3: crate::sdk::s3_client(config),
            secretsmanager: aws_sdk_secretsmanager::Client::new(config),
        }
    }
}

/// Reads the contact-hash key once (it never rotates).
pub async fn contact_hasher(
    clients: &ContactClients,
    secret_id: &str,
) -> Result<ContactHasher, wavault_core::secrets::SecretError> {
    use wavault_core::secrets::SecretSource;
    let source = crate::secretsmanager::SecretsManagerSource::new(clients.secretsmanager.clone());
    let text = source.secret_string(secret_id).await?;
    let key = wavault_core::secrets::parse_contact_hash_key(secret_id, &text)?;
    Ok(ContactHasher::new(key))
}

/// Wires the erasure use case to AWS.
pub fn eraser(
    config: &ContactDataConfig,
    clients: &ContactClients,
    hasher: ContactHasher,
    metrics: Arc<dyn Metrics>,
) -> Eraser {
    Eraser {
        records: Arc::new(DynamoContactRecords::new(
            clients.dynamodb.clone(),
            config.records_table.clone(),
        )),
        journal: Arc::new(S3JournalObjects::new(
            clients.s3.clone(),
            config.archive_bucket.clone(),
            config.kms_key_id.clone(),
        )),
        objects: Arc::new(crate::s3::S3ArchiveObjects::new(
            clients.s3.clone(),
            config.archive_bucket.clone(),
        )),
        clock: Arc::new(wavault_core::clock::SystemClock),
        metrics,
        hasher,
        concurrency: wavault_core::contact::CONCURRENCY,
    }
}

/// Wires the export use case to AWS.
pub fn exporter(
    config: &ContactDataConfig,
    clients: &ContactClients,
    hasher: ContactHasher,
    progress_every: usize,
) -> wavault_core::contact::Exporter {
    wavault_core::contact::Exporter {
        records: Arc::new(DynamoContactRecords::new(
            clients.dynamodb.clone(),
            config.records_table.clone(),
        )),
        journal: Arc::new(S3JournalObjects::new(
            clients.s3.clone(),
            config.archive_bucket.clone(),
            config.kms_key_id.clone(),
        )),
        media: Arc::new(S3ObjectSource::new(
            clients.s3.clone(),
            config.archive_bucket.clone(),
        )),
        clock: Arc::new(wavault_core::clock::SystemClock),
        hasher,
        progress_every,
    }
}

/// The records table, as erasure and export see it.
pub struct DynamoContactRecords {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoContactRecords {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

#[async_trait]
impl ContactRecords for DynamoContactRecords {
    async fn keys(&self, index: ContactIndex, hash: &str) -> Result<Vec<ItemKey>, PortError> {
        let index_name = contact_index_name(index);
        let attribute = match index {
            ContactIndex::WaId => CONTACT_WA_HASH,
            ContactIndex::UserId => CONTACT_USER_HASH,
            ContactIndex::ParentUserId => CONTACT_PARENT_HASH,
        };
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index_name)
                .key_condition_expression("#h = :h")
                .expression_attribute_names("#h", attribute)
                .expression_attribute_values(":h", s(hash))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify("dynamodb", &e))?;
            // An index entry without a readable key is skipped (there is nothing to read by).
            keys.extend(
                page.items
                    .into_iter()
                    .flatten()
                    .filter_map(|item| item_codec::from_item::<ItemKey>(item).ok()),
            );
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(keys),
            }
        }
    }

    async fn get(&self, key: &ItemKey) -> Result<Option<StoredItem>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_codec::key(key)?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        output.item.map(item_codec::from_item).transpose()
    }

    async fn tombstone(
        &self,
        key: &ItemKey,
        tombstone: &Tombstone,
        expected_media_key: Option<&str>,
    ) -> Result<TombstoneWrite, PortError> {
        let live = format!("attribute_exists({PK}) AND {KIND} <> :erased");
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_codec::to_item(&tombstone.item(key))?))
            .expression_attribute_values(":erased", item_codec::to_value(&ItemKind::Erased)?);
        request = match expected_media_key {
            Some(media_key) => request
                .condition_expression(format!("{live} AND {MEDIA_KEY} = :media_key"))
                .expression_attribute_values(":media_key", s(media_key)),
            None => request
                .condition_expression(format!("{live} AND attribute_not_exists({MEDIA_KEY})")),
        };
        match request.send().await {
            Ok(_) => Ok(TombstoneWrite::Written),
            Err(error) if item_codec::is_conditional_failure(&error) => Ok(TombstoneWrite::Changed),
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn mark_erased(&self, marker: &StoredItem) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_codec::to_item(marker)?))
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        Ok(())
    }
}

/// Journal objects in the archive bucket, rewritten with the webhook's encryption settings.
pub struct S3JournalObjects {
    client: aws_sdk_s3::Client,
    bucket: String,
    kms_key_id: Option<String>,
}

impl S3JournalObjects {
    pub fn new(client: aws_sdk_s3::Client, bucket: String, kms_key_id: Option<String>) -> Self {
        Self {
            client,
            bucket,
            kms_key_id,
        }
    }

    /// In a versioned bucket the overwritten body would survive as a noncurrent version: delete
    /// every version of `key` but `current`.
    async fn delete_other_versions(&self, key: &str, current: &str) -> Result<(), PortError> {
        crate::s3::delete_versions_except(&self.client, &self.bucket, key, Some(current)).await
    }
}

#[async_trait]
impl JournalObjects for S3JournalObjects {
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, PortError> {
        let Some(output) = crate::s3::get_if_present(&self.client, &self.bucket, key).await? else {
            return Ok(None);
        };
        let body = output.body.collect().await.map_err(|e| {
            PortError::unavailable("s3", "reading the journal object").caused_by(&e)
        })?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    async fn replace(&self, key: &str, body: Vec<u8>) -> Result<(), PortError> {
        // The rewrite keeps the receipt time the webhook wrote, so a replay still records the
        // body on its original retention clock.
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("s3", &e))?;
        let received_at = head
            .metadata()
            .and_then(|m| m.get(crate::s3::RECEIVED_AT_METADATA))
            .and_then(|at| at.parse().ok());
        let output = crate::s3::journal_put(
            &self.client,
            &self.bucket,
            key,
            body,
            self.kms_key_id.as_deref(),
            received_at,
        )
        .send()
        .await
        .map_err(|e| classify("s3", &e))?;
        match output.version_id().filter(|v| *v != "null") {
            Some(current) => self.delete_other_versions(key, current).await,
            None => Ok(()),
        }
    }
}

/// Archive objects streamed out of S3.
pub struct S3ObjectSource {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ObjectSource {
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { client, bucket }
    }
}

#[async_trait]
impl ObjectSource for S3ObjectSource {
    async fn open(&self, key: &str) -> Result<Option<ObjectChunks>, PortError> {
        let Some(output) = crate::s3::get_if_present(&self.client, &self.bucket, key).await? else {
            return Ok(None);
        };
        let chunks = futures::stream::unfold(Some(output.body), |body| async move {
            let mut body = body?;
            match body.next().await {
                Some(Ok(chunk)) => Some((Ok(chunk), Some(body))),
                Some(Err(e)) => Some((
                    Err(PortError::unavailable("s3", "reading an object").caused_by(&e)),
                    None,
                )),
                None => None,
            }
        });
        Ok(Some(Box::pin(chunks)))
    }
}
