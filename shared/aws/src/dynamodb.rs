//! The records table in DynamoDB: conditional puts that never overwrite.
//!
//! Item layout (docs/data.md "Records"): key `wamid` + `sk`; `kind`, `expires_at` (N, the TTL attribute),
//! `expiry_hour` (N, sweep index), `received_at`, `journal_key`, contact hashes (sparse indexes),
//! `type`/`status`/`error_code`, `raw` (the element as Meta sent it) and for media messages
//! `media_id`, `media_kind`, `media_mime_type`, `media_declared_sha256`, `media_status`.

use crate::classify;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;
use wavault_core::error::PortError;
use wavault_core::ingest::{RecordStore, RecordWrite};
use wavault_core::records::{MediaStatus, Record};
use wavault_core::retention::RetentionPolicy;

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
    if !record.raw.is_empty() {
        item.insert("raw".to_owned(), s(&record.raw));
    }
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
        item.insert("media_deadline".to_owned(), n(media.deadline));
        // Present only while pending: the key of the sparse `media-pending` index.
        item.insert(
            "pending_shard".to_owned(),
            s(&wavault_core::media::pending_shard(&record.wamid)),
        );
    }
    item
}

use wavault_core::records::TOMBSTONE_KIND as ERASED_KIND;

/// Neither a tombstone nor past its expiry at `now` (TTL deletes late; reads must not).
pub fn is_live(item: &HashMap<String, AttributeValue>, now: i64) -> bool {
    let erased = matches!(item.get("kind"), Some(AttributeValue::S(kind)) if kind == ERASED_KIND);
    let expired = matches!(
        item.get("expires_at"),
        Some(AttributeValue::N(at)) if at.parse::<i64>().is_ok_and(|at| at <= now)
    );
    !erased && !expired
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

/// A conditional write whose condition did not hold.
fn is_conditional_failure<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
{
    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(error)
        == Some("ConditionalCheckFailedException")
}

#[async_trait]
impl wavault_core::media::MediaRecords for DynamoRecordStore {
    async fn media_status(
        &self,
        wamid: &str,
        now: i64,
    ) -> Result<wavault_core::media::MediaRecordState, PortError> {
        use wavault_core::media::MediaRecordState;
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("wamid", s(wamid))
            .key("sk", s("message"))
            .projection_expression("wamid, media_status, kind, expires_at")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        Ok(match output.item().filter(|item| is_live(item, now)) {
            Some(item) => MediaRecordState::Live(media_status(item)),
            None => MediaRecordState::Gone,
        })
    }

    async fn mark_archived(
        &self,
        wamid: &str,
        archived: &wavault_core::media::ArchivedMedia,
    ) -> Result<wavault_core::media::MediaUpdate, PortError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("wamid", s(wamid))
            .key("sk", s("message"))
            .update_expression(
                "SET media_status = :archived, media_key = :key, media_sha256 = :sha, \
                 media_bytes = :bytes, archived_at = :at REMOVE pending_shard, media_error",
            )
            .condition_expression(
                "attribute_exists(wamid) AND kind <> :erased AND expires_at > :at",
            )
            .expression_attribute_values(":erased", s(ERASED_KIND))
            .expression_attribute_values(":archived", s(MediaStatus::Archived.as_str()))
            .expression_attribute_values(":key", s(&archived.key))
            .expression_attribute_values(":sha", s(&archived.sha256_hex))
            .expression_attribute_values(":bytes", n(archived.bytes as i64))
            .expression_attribute_values(":at", n(archived.archived_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(wavault_core::media::MediaUpdate::Updated),
            Err(error) if is_conditional_failure(&error) => {
                Ok(wavault_core::media::MediaUpdate::RecordGone)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn mark_pending_again(
        &self,
        wamid: &str,
        shard: &str,
    ) -> Result<wavault_core::media::MediaUpdate, PortError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("wamid", s(wamid))
            .key("sk", s("message"))
            .update_expression(
                "SET media_status = :pending, pending_shard = :shard REMOVE media_error, failed_at",
            )
            .condition_expression("media_status = :failed AND begins_with(pending_shard, :dlq)")
            .expression_attribute_values(":pending", s(MediaStatus::Pending.as_str()))
            .expression_attribute_values(":failed", s(MediaStatus::Failed.as_str()))
            .expression_attribute_values(":shard", s(shard))
            .expression_attribute_values(":dlq", s("dlq#"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(wavault_core::media::MediaUpdate::Updated),
            Err(error) if is_conditional_failure(&error) => {
                Ok(wavault_core::media::MediaUpdate::Unchanged)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn mark_failed(
        &self,
        wamid: &str,
        reason: &str,
        at: i64,
        dead_lettered: bool,
    ) -> Result<wavault_core::media::MediaUpdate, PortError> {
        // Dead-lettered records stay in the sparse index under a `dlq#` partition, so the redrive
        // finds them without a scan; other failures leave the index.
        let (update, shard) = if dead_lettered {
            (
                "SET media_status = :failed, media_error = :reason, failed_at = :at, pending_shard = :dlq",
                Some(format!("dlq#{}", wavault_core::media::pending_shard(wamid))),
            )
        } else {
            (
                "SET media_status = :failed, media_error = :reason, failed_at = :at REMOVE pending_shard",
                None,
            )
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("wamid", s(wamid))
            .key("sk", s("message"))
            .update_expression(update)
            .condition_expression("attribute_exists(wamid) AND media_status = :pending")
            .expression_attribute_values(":failed", s(MediaStatus::Failed.as_str()))
            .expression_attribute_values(":pending", s(MediaStatus::Pending.as_str()))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":at", n(at));
        if let Some(shard) = shard {
            request = request.expression_attribute_values(":dlq", s(&shard));
        }
        match request.send().await {
            Ok(_) => Ok(wavault_core::media::MediaUpdate::Updated),
            Err(error) if is_conditional_failure(&error) => {
                Ok(wavault_core::media::MediaUpdate::Unchanged)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }
}

/// The sparse `media-pending` index of the records table.
pub const MEDIA_PENDING_INDEX: &str = "media-pending";

#[async_trait]
impl wavault_core::media::PendingIndex for DynamoRecordStore {
    async fn pending(
        &self,
        shard: &str,
    ) -> Result<Vec<wavault_core::media::PendingMedia>, PortError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(MEDIA_PENDING_INDEX)
                .key_condition_expression("pending_shard = :shard")
                .expression_attribute_values(":shard", s(shard))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify("dynamodb", &e))?;
            for item in page.items() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(v)) => Some(v.clone()),
                    _ => None,
                };
                let number = |name: &str| match item.get(name) {
                    Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
                    _ => None,
                };
                let (Some(wamid), Some(media_id), Some(deadline)) =
                    (text("wamid"), text("media_id"), number("media_deadline"))
                else {
                    continue;
                };
                found.push(wavault_core::media::PendingMedia {
                    job: wavault_core::media::MediaJob {
                        wamid,
                        media_id,
                        media_kind: text("media_kind").unwrap_or_default(),
                        mime_type: text("media_mime_type"),
                        sha256: text("media_declared_sha256"),
                        phone_number_id: text("phone_number_id"),
                        received_at: number("received_at").unwrap_or(deadline),
                    },
                    deadline,
                });
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(found),
            }
        }
    }
}
