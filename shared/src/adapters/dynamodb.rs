//! The records table in DynamoDB: conditional puts that never overwrite.
//!
//! Item layout (README "Records"): key `wamid` + `sk`; `kind`, `expires_at` (N, the TTL attribute),
//! `expiry_hour` (N, sweep index), `received_at`, `journal_key`, contact hashes (sparse indexes),
//! `type`/`status`/`error_code`, `raw` (the element as Meta sent it) and for media messages
//! `media_id`, `media_kind`, `media_mime_type`, `media_declared_sha256`, `media_status`.

use super::classify;
use crate::ports::{PortError, RecordStore, RecordWrite};
use crate::records::{MediaStatus, Record};
use crate::retention::RetentionPolicy;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;

pub struct DynamoRecordStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoRecordStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }

    /// Reads the media status of an existing item (fallback when the conditional failure did not
    /// carry the old item).
    async fn media_status_of(&self, record: &Record) -> Result<Option<MediaStatus>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("wamid", AttributeValue::S(record.wamid.clone()))
            .key("sk", AttributeValue::S(record.sk.clone()))
            .projection_expression("media_status")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        Ok(output.item().and_then(media_status))
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The DynamoDB item for a record.
pub fn record_item(record: &Record) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::with_capacity(20);
    item.insert("wamid".to_owned(), s(&record.wamid));
    item.insert("sk".to_owned(), s(&record.sk));
    item.insert("kind".to_owned(), s(record.kind.as_str()));
    item.insert("received_at".to_owned(), n(record.received_at));
    item.insert("expires_at".to_owned(), n(record.expires_at));
    item.insert(
        "expiry_hour".to_owned(),
        n(RetentionPolicy::expiry_hour(record.expires_at)),
    );
    item.insert("journal_key".to_owned(), s(&record.journal_key));
    item.insert("raw".to_owned(), s(&record.raw));
    let optional = [
        ("waba_id", record.waba_id.as_deref()),
        ("phone_number_id", record.phone_number_id.as_deref()),
        ("contact_wa_hash", record.contact_wa_hash.as_deref()),
        ("contact_user_hash", record.contact_user_hash.as_deref()),
        ("type", record.message_type.as_deref()),
        ("status", record.status.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            item.insert(name.to_owned(), s(value));
        }
    }
    if let Some(code) = record.error_code {
        item.insert("error_code".to_owned(), n(code));
    }
    if let Some(media) = &record.media {
        item.insert("media_id".to_owned(), s(&media.media_id));
        item.insert("media_kind".to_owned(), s(media.kind));
        item.insert("media_status".to_owned(), s(MediaStatus::Pending.as_str()));
        if let Some(mime) = media.mime_type.as_deref().filter(|m| !m.is_empty()) {
            item.insert("media_mime_type".to_owned(), s(mime));
        }
        if let Some(sha) = media.declared_sha256.as_deref().filter(|m| !m.is_empty()) {
            item.insert("media_declared_sha256".to_owned(), s(sha));
        }
    }
    item
}

fn media_status(item: &HashMap<String, AttributeValue>) -> Option<MediaStatus> {
    match item.get("media_status") {
        Some(AttributeValue::S(status)) => MediaStatus::parse(status),
        _ => None,
    }
}

#[async_trait]
impl RecordStore for DynamoRecordStore {
    async fn put_if_absent(&self, record: &Record) -> Result<RecordWrite, PortError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record_item(record)))
            .condition_expression("attribute_not_exists(wamid)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(RecordWrite::Created),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let media_status = match failed.item() {
                        Some(old) => media_status(old),
                        None if record.media.is_some() => self.media_status_of(record).await?,
                        None => None,
                    };
                    Ok(RecordWrite::AlreadyPresent { media_status })
                }
                _ => Err(classify("dynamodb", &error)),
            },
        }
    }
}
