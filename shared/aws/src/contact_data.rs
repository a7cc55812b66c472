//! Erasure and export against AWS: the contact indexes and tombstones in DynamoDB, journal
//! objects and streamed media in S3, and the wiring the `wavault` tool uses.

use crate::classify;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use wavault_core::config::ConfigError;
use wavault_core::contact::ContactHasher;
use wavault_core::contact::{
    ContactIndex, ContactRecords, Eraser, JournalObjects, Tombstone, TombstoneWrite,
};
use wavault_core::contact::{ObjectChunks, ObjectSource};
use wavault_core::error::PortError;
use wavault_core::metrics::Metrics;
use wavault_core::records::{Item, ItemKey, JOURNAL_LINK_KIND, TOMBSTONE_KIND};

/// GSI of the records table keyed by `contact_wa_hash`.
pub const BY_CONTACT_WA_INDEX: &str = "by-contact-wa";
/// GSI of the records table keyed by `contact_user_hash`.
pub const BY_CONTACT_USER_INDEX: &str = "by-contact-user";

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

impl ContactDataConfig {
    /// Reads settings through `lookup`; an override (a command-line flag) wins over the variable.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        table: Option<String>,
        bucket: Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str, flag: Option<String>| {
            flag.filter(|v| !v.trim().is_empty())
                .or_else(|| get(name))
                .ok_or(ConfigError::Missing(name))
        };
        Ok(Self {
            records_table: required("RECORDS_TABLE", table)?,
            archive_bucket: required("ARCHIVE_BUCKET", bucket)?,
            contact_hash_secret_id: required("CONTACT_HASH_SECRET_ID", None)?,
            kms_key_id: get("KMS_KEY_ID"),
        })
    }
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

fn key_of(item: &HashMap<String, AttributeValue>) -> Option<ItemKey> {
    match (item.get("wamid"), item.get("sk")) {
        (Some(AttributeValue::S(wamid)), Some(AttributeValue::S(sk))) => Some(ItemKey {
            wamid: wamid.clone(),
            sk: sk.clone(),
        }),
        _ => None,
    }
}

fn is_conditional_failure<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
{
    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(error)
        == Some("ConditionalCheckFailedException")
}

/// A DynamoDB attribute as plain JSON (numbers as numbers, binary as base64).
pub fn attribute_json(value: &AttributeValue) -> Value {
    use base64::Engine;
    let b64 = |b: &aws_smithy_types::Blob| {
        Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
    };
    let num = |n: &String| {
        n.parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| n.parse::<u64>().map(Value::from).ok())
            .or_else(|| {
                n.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or_else(|| Value::String(n.clone()))
    };
    match value {
        AttributeValue::S(v) => Value::String(v.clone()),
        AttributeValue::N(v) => num(v),
        AttributeValue::Bool(v) => Value::Bool(*v),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(v) => b64(v),
        AttributeValue::L(v) => Value::Array(v.iter().map(attribute_json).collect()),
        AttributeValue::M(v) => Value::Object(item_json(v)),
        AttributeValue::Ss(v) => Value::Array(v.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(v) => Value::Array(v.iter().map(num).collect()),
        AttributeValue::Bs(v) => Value::Array(v.iter().map(b64).collect()),
        _ => Value::Null,
    }
}

/// A DynamoDB item as a plain JSON object, attributes sorted by name.
pub fn item_json(item: &HashMap<String, AttributeValue>) -> Item {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| (name.clone(), attribute_json(&item[name])))
        .collect()
}

#[async_trait]
impl ContactRecords for DynamoContactRecords {
    async fn keys(&self, index: ContactIndex, hash: &str) -> Result<Vec<ItemKey>, PortError> {
        let (index_name, attribute) = match index {
            ContactIndex::WaId => (BY_CONTACT_WA_INDEX, "contact_wa_hash"),
            ContactIndex::UserId => (BY_CONTACT_USER_INDEX, "contact_user_hash"),
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
            keys.extend(page.items().iter().filter_map(key_of));
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(keys),
            }
        }
    }

    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("wamid", s(&key.wamid))
            .key("sk", s(&key.sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        Ok(output.item().map(item_json))
    }

    async fn tombstone(
        &self,
        key: &ItemKey,
        tombstone: &Tombstone,
        expected_media_key: Option<&str>,
    ) -> Result<TombstoneWrite, PortError> {
        let mut item = HashMap::from([
            ("wamid".to_owned(), s(&key.wamid)),
            ("sk".to_owned(), s(&key.sk)),
            ("kind".to_owned(), s(TOMBSTONE_KIND)),
            (
                "erased_at".to_owned(),
                AttributeValue::N(tombstone.erased_at.to_string()),
            ),
        ]);
        if let Some(expires_at) = tombstone.expires_at {
            item.insert(
                "expires_at".to_owned(),
                AttributeValue::N(expires_at.to_string()),
            );
        }
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_values(":erased", s(TOMBSTONE_KIND));
        request = match expected_media_key {
            Some(media_key) => request
                .condition_expression(
                    "attribute_exists(wamid) AND kind <> :erased AND media_key = :media_key",
                )
                .expression_attribute_values(":media_key", s(media_key)),
            None => request.condition_expression(
                "attribute_exists(wamid) AND kind <> :erased AND attribute_not_exists(media_key)",
            ),
        };
        match request.send().await {
            Ok(_) => Ok(TombstoneWrite::Written),
            Err(error) if is_conditional_failure(&error) => Ok(TombstoneWrite::Changed),
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn delete_link(&self, key: &ItemKey) -> Result<(), PortError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("wamid", s(&key.wamid))
            .key("sk", s(&key.sk))
            .condition_expression("kind = :link")
            .expression_attribute_values(":link", s(JOURNAL_LINK_KIND))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone already (or, impossibly, not a link): nothing to delete.
            Err(error) if is_conditional_failure(&error) => Ok(()),
            Err(error) => Err(classify("dynamodb", &error)),
        }
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
        let output = crate::s3::journal_put(
            &self.client,
            &self.bucket,
            key,
            body,
            self.kms_key_id.as_deref(),
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
