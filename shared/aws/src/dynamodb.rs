//! The records table in DynamoDB: conditional puts that never overwrite, and the media fetcher's
//! reads and updates of a message's media attributes.
//!
//! Items are the core's [`StoredItem`] through [`crate::item_codec`] (layout: docs/data.md
//! "Records"); expressions name attributes by [`wavault_core::records::attributes`].

use crate::classify;
use crate::item_codec::{self, DynamoItem};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValuesOnConditionCheckFailure,
};
use std::collections::HashMap;
use wavault_core::error::PortError;
use wavault_core::ingest::{RecordStore, RecordWrite};
use wavault_core::records::attributes::{
    ARCHIVED_AT, ERASED_AT, EXPIRES_AT, FAILED_AT, KIND, MEDIA_BYTES, MEDIA_ERROR, MEDIA_KEY,
    MEDIA_NEXT_ATTEMPT_AT, MEDIA_SHA256, MEDIA_STATUS, MEDIA_VERIFIED, PENDING_SHARD, PK,
    RECEIVED_AT, SK,
};
use wavault_core::records::{ItemKey, ItemKind, MediaStatus, Record, StoredItem};

pub struct DynamoRecordStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoRecordStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }

    /// Reads the item under `key`, strongly consistent, with only the `attributes` named (and
    /// the key, which every typed item holds).
    async fn get_projected(
        &self,
        key: &ItemKey,
        attributes: &[&str],
    ) -> Result<Option<StoredItem>, PortError> {
        let projection = [PK, SK]
            .iter()
            .chain(attributes)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_codec::key(key)?))
            .projection_expression(projection)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        output.item.map(item_codec::from_item).transpose()
    }

    /// Reads the media status and receipt time of an existing item (fallback when the conditional
    /// failure did not carry the old item).
    async fn present_media_of(&self, record: &Record) -> Result<RecordWrite, PortError> {
        let key = ItemKey {
            pk: record.pk.clone(),
            sk: record.sk.clone(),
        };
        let item = self
            .get_projected(&key, &[MEDIA_STATUS, RECEIVED_AT])
            .await?;
        Ok(already_present(item))
    }

    /// An update of the message record under partition key `record`.
    fn update_message(&self, record: &str) -> Result<UpdateItemFluentBuilder, PortError> {
        Ok(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_codec::key(&ItemKey::message(record))?)))
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The DynamoDB item a record is first written as.
pub fn record_item(record: &Record) -> Result<DynamoItem, PortError> {
    item_codec::to_item(&StoredItem::from(record))
}

/// What a failed conditional put reports of the item already there (its media status and
/// receipt time).
fn already_present(old: Option<StoredItem>) -> RecordWrite {
    RecordWrite::AlreadyPresent {
        media_status: old.as_ref().and_then(|item| item.media_status),
        received_at: old.and_then(|item| item.received_at),
    }
}

#[async_trait]
impl RecordStore for DynamoRecordStore {
    async fn put_if_absent(&self, record: &Record) -> Result<RecordWrite, PortError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record_item(record)?))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(RecordWrite::Created),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item() {
                        Some(old) => Ok(already_present(
                            item_codec::from_item::<StoredItem>(old.clone()).ok(),
                        )),
                        None if record.media.is_some() => self.present_media_of(record).await,
                        None => Ok(already_present(None)),
                    }
                }
                _ => Err(classify("dynamodb", &error)),
            },
        }
    }

    async fn erasure_markers(&self, keys: &[ItemKey]) -> Result<HashMap<String, i64>, PortError> {
        let mut unique: Vec<&ItemKey> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let mut found = HashMap::new();
        // BatchGetItem takes at most 100 keys (and rejects duplicates); a body names far fewer
        // people, so this is one call.
        for chunk in unique.chunks(BATCH_GET_KEYS) {
            let mut pending = chunk
                .iter()
                .map(|key| item_codec::key(key))
                .collect::<Result<Vec<_>, _>>()?;
            for attempt in 0..BATCH_GET_ATTEMPTS {
                if pending.is_empty() {
                    break;
                }
                if attempt > 0 {
                    // Unprocessed keys (throttling): back off as the SDK would, then resend them.
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .projection_expression("#pk, #sk, #erased_at")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_names("#erased_at", ERASED_AT)
                    .consistent_read(true)
                    .build()
                    .map_err(|e| {
                        PortError::failed("dynamodb", "building the marker read").caused_by(&e)
                    })?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| classify("dynamodb", &e))?;
                let items = output
                    .responses
                    .and_then(|mut by_table| by_table.remove(&self.table))
                    .unwrap_or_default();
                for item in items {
                    if let Ok(marker) = item_codec::from_item::<StoredItem>(item) {
                        if let Some(erased_at) = marker.erased_at {
                            found.insert(marker.key.pk, erased_at);
                        }
                    }
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut by_table| by_table.remove(&self.table))
                    .map(|unprocessed| unprocessed.keys)
                    .unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(PortError::unavailable(
                    "dynamodb",
                    "erasure markers still unprocessed after retries",
                ));
            }
        }
        Ok(found)
    }
}

/// Keys per BatchGetItem call (DynamoDB's limit).
const BATCH_GET_KEYS: usize = 100;
/// Calls per chunk while DynamoDB leaves keys unprocessed.
const BATCH_GET_ATTEMPTS: u32 = 5;

#[async_trait]
impl wavault_core::media::MediaRecords for DynamoRecordStore {
    async fn media_status(
        &self,
        record: &str,
        now: i64,
    ) -> Result<wavault_core::media::MediaRecordState, PortError> {
        use wavault_core::media::MediaRecordState;
        let item = self
            .get_projected(&ItemKey::message(record), &[MEDIA_STATUS, KIND, EXPIRES_AT])
            .await?;
        Ok(match item.filter(|item| item.is_live(now)) {
            Some(item) => MediaRecordState::Live(item.media_status),
            None => MediaRecordState::Gone,
        })
    }

    async fn mark_archived(
        &self,
        record: &str,
        archived: &wavault_core::media::ArchivedMedia,
    ) -> Result<wavault_core::media::MediaUpdate, PortError> {
        // Verified media leaves the sparse index; unverified media stays in it under
        // `unverified#N`, so the media sweep counts it without a scan.
        let set = format!(
            "SET {MEDIA_STATUS} = :archived, {MEDIA_KEY} = :key, {MEDIA_SHA256} = :sha, \
             {MEDIA_BYTES} = :bytes, {ARCHIVED_AT} = :at, {MEDIA_VERIFIED} = :verified"
        );
        let remove = format!("REMOVE {MEDIA_ERROR}, {MEDIA_NEXT_ATTEMPT_AT}");
        let (update, unverified_shard) = if archived.verified {
            (format!("{set} {remove}, {PENDING_SHARD}"), None)
        } else {
            (
                format!("{set}, {PENDING_SHARD} = :unverified {remove}"),
                Some(format!(
                    "{}{}",
                    wavault_core::media::UNVERIFIED_SHARD_PREFIX,
                    wavault_core::media::pending_shard(record)
                )),
            )
        };
        let mut request = self
            .update_message(record)?
            .update_expression(update)
            .condition_expression(format!(
                "attribute_exists({PK}) AND {KIND} <> :erased AND {EXPIRES_AT} > :at"
            ))
            .expression_attribute_values(":erased", item_codec::to_value(&ItemKind::Erased)?)
            .expression_attribute_values(":archived", item_codec::to_value(&MediaStatus::Archived)?)
            .expression_attribute_values(":key", s(&archived.key))
            .expression_attribute_values(":sha", s(&archived.sha256_hex))
            .expression_attribute_values(":bytes", item_codec::to_value(&archived.bytes)?)
            .expression_attribute_values(":at", n(archived.archived_at))
            .expression_attribute_values(":verified", AttributeValue::Bool(archived.verified));
        if let Some(shard) = unverified_shard {
            request = request.expression_attribute_values(":unverified", s(&shard));
        }
        match request.send().await {
            Ok(_) => Ok(wavault_core::media::MediaUpdate::Updated),
            Err(error) if item_codec::is_conditional_failure(&error) => {
                Ok(wavault_core::media::MediaUpdate::RecordGone)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn mark_pending_again(
        &self,
        record: &str,
        shard: &str,
        at: i64,
    ) -> Result<wavault_core::media::MediaUpdate, PortError> {
        let result = self
            .update_message(record)?
            .update_expression(format!(
                "SET {MEDIA_STATUS} = :pending, {PENDING_SHARD} = :shard, {MEDIA_NEXT_ATTEMPT_AT} = :at \
                 REMOVE {MEDIA_ERROR}, {FAILED_AT}"
            ))
            .expression_attribute_values(":at", n(at))
            .condition_expression(format!(
                "{MEDIA_STATUS} = :failed AND begins_with({PENDING_SHARD}, :dlq)"
            ))
            .expression_attribute_values(":pending", item_codec::to_value(&MediaStatus::Pending)?)
            .expression_attribute_values(":failed", item_codec::to_value(&MediaStatus::Failed)?)
            .expression_attribute_values(":shard", s(shard))
            .expression_attribute_values(
                ":dlq",
                s(wavault_core::media::DEAD_LETTERED_SHARD_PREFIX),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(wavault_core::media::MediaUpdate::Updated),
            Err(error) if item_codec::is_conditional_failure(&error) => {
                Ok(wavault_core::media::MediaUpdate::Unchanged)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn expect_attempt(
        &self,
        record: &str,
        next_attempt_at: i64,
    ) -> Result<wavault_core::media::MediaUpdate, PortError> {
        let result = self
            .update_message(record)?
            .update_expression(format!("SET {MEDIA_NEXT_ATTEMPT_AT} = :at"))
            .condition_expression(format!("{MEDIA_STATUS} = :pending"))
            .expression_attribute_values(":pending", item_codec::to_value(&MediaStatus::Pending)?)
            .expression_attribute_values(":at", n(next_attempt_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(wavault_core::media::MediaUpdate::Updated),
            Err(error) if item_codec::is_conditional_failure(&error) => {
                Ok(wavault_core::media::MediaUpdate::Unchanged)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn claim_reenqueue(
        &self,
        record: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<wavault_core::media::MediaUpdate, PortError> {
        // The condition is the read: no GetItem first, and no projection of the expected
        // delivery in the `media-pending` index (changing a GSI projection replaces the index).
        let result = self
            .update_message(record)?
            .update_expression(format!("SET {MEDIA_NEXT_ATTEMPT_AT} = :now"))
            .condition_expression(format!(
                "{MEDIA_STATUS} = :pending AND {EXPIRES_AT} > :now AND \
                 ({MEDIA_NEXT_ATTEMPT_AT} <= :before OR \
                 (attribute_not_exists({MEDIA_NEXT_ATTEMPT_AT}) AND {RECEIVED_AT} <= :before))"
            ))
            .expression_attribute_values(":pending", item_codec::to_value(&MediaStatus::Pending)?)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":before", n(stale_before))
            .send()
            .await;
        match result {
            Ok(_) => Ok(wavault_core::media::MediaUpdate::Updated),
            Err(error) if item_codec::is_conditional_failure(&error) => {
                Ok(wavault_core::media::MediaUpdate::Unchanged)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn mark_failed(
        &self,
        record: &str,
        reason: &str,
        at: i64,
        dead_lettered: bool,
    ) -> Result<wavault_core::media::MediaUpdate, PortError> {
        // Dead-lettered records stay in the sparse index under a `dlq#` partition, so the redrive
        // finds them without a scan; other failures leave the index.
        let set =
            format!("SET {MEDIA_STATUS} = :failed, {MEDIA_ERROR} = :reason, {FAILED_AT} = :at");
        let (update, shard) = if dead_lettered {
            (
                format!("{set}, {PENDING_SHARD} = :dlq"),
                Some(format!(
                    "{}{}",
                    wavault_core::media::DEAD_LETTERED_SHARD_PREFIX,
                    wavault_core::media::pending_shard(record)
                )),
            )
        } else {
            (format!("{set} REMOVE {PENDING_SHARD}"), None)
        };
        let mut request = self
            .update_message(record)?
            .update_expression(update)
            .condition_expression(format!(
                "attribute_exists({PK}) AND {MEDIA_STATUS} = :pending"
            ))
            .expression_attribute_values(":failed", item_codec::to_value(&MediaStatus::Failed)?)
            .expression_attribute_values(":pending", item_codec::to_value(&MediaStatus::Pending)?)
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":at", n(at));
        if let Some(shard) = shard {
            request = request.expression_attribute_values(":dlq", s(&shard));
        }
        match request.send().await {
            Ok(_) => Ok(wavault_core::media::MediaUpdate::Updated),
            Err(error) if item_codec::is_conditional_failure(&error) => {
                Ok(wavault_core::media::MediaUpdate::Unchanged)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }
}

/// The sparse `media-pending` index of the records table.
pub const MEDIA_PENDING_INDEX: &str = "media-pending";

/// The job a `media-pending` index entry stands for; `None` without a media id or deadline.
fn pending_media(item: StoredItem) -> Option<wavault_core::media::PendingMedia> {
    let deadline = item.media_deadline?;
    Some(wavault_core::media::PendingMedia {
        job: wavault_core::media::MediaJob {
            media_id: item.media_id?,
            record: item.key.pk,
            media_kind: item.media_kind.unwrap_or_default(),
            mime_type: item.media_mime_type,
            sha256: item.media_declared_sha256,
            phone_number_id: item.phone_number_id,
            received_at: item.received_at.unwrap_or(deadline),
        },
        deadline,
    })
}

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
                .key_condition_expression(format!("{PENDING_SHARD} = :shard"))
                .expression_attribute_values(":shard", s(shard))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify("dynamodb", &e))?;
            // An entry that does not read as an item (no key) is skipped, as one without a media id.
            found.extend(
                page.items
                    .into_iter()
                    .flatten()
                    .filter_map(|item| item_codec::from_item::<StoredItem>(item).ok())
                    .filter_map(pending_media),
            );
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    async fn count(&self, shard: &str) -> Result<u64, PortError> {
        let mut count: u64 = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(MEDIA_PENDING_INDEX)
                .key_condition_expression(format!("{PENDING_SHARD} = :shard"))
                .expression_attribute_values(":shard", s(shard))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify("dynamodb", &e))?;
            count += u64::try_from(page.count).unwrap_or_default();
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(count),
            }
        }
    }
}
