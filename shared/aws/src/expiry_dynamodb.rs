//! The records table as retention reads it: the sharded `by-expiry-hour` index, conditional
//! deletes and the sweep's checkpoint item, all as the core's typed items through
//! [`crate::item_codec`].
//!
//! The sweep reads an expired item with a conditional delete that holds only for an item
//! pointing at no object (`ReturnValuesOnConditionCheckFailure = ALL_OLD`: DynamoDB returns the
//! item as it is when the condition fails). That read is strongly consistent, deletes a
//! tombstone or an erasure marker at once, and needs no `GetItem` on records (the role has
//! `DeleteItem` on the table and `GetItem` on the checkpoint only).

use crate::classify;
use crate::item_codec;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use wavault_core::error::PortError;
use wavault_core::records::attributes::{EXPIRES_AT, EXPIRY_SLOT, JOURNAL_KEY, MEDIA_KEY};
use wavault_core::records::{ItemKey, StoredItem};
use wavault_core::retention::{
    ExpiredItem, ExpiredLookup, ExpiredPage, ExpiringRecords, ExpirySlot, PageCursor,
};

/// Index the sweep reads: HASH `expiry_slot` (`<hour>#<shard>`), RANGE `expires_at`, keys only.
pub const EXPIRY_INDEX: &str = "by-expiry-hour";
/// Keys read per query page (bounds the memory and the work between checkpoints).
const PAGE_SIZE: i32 = 500;
/// The sweep's checkpoint item: no `expires_at`, so neither TTL nor the sweep ever removes it.
const CHECKPOINT_PK: &str = "sweep.retention";
const CHECKPOINT_SK: &str = "checkpoint";

fn checkpoint_key() -> ItemKey {
    ItemKey {
        pk: CHECKPOINT_PK.to_owned(),
        sk: CHECKPOINT_SK.to_owned(),
    }
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The condition "`attribute` holds no object key", as the codec reads it: absent, of another
/// type than a string, or empty (each reads as `None`). Uses `:string` and `:zero`.
fn holds_no_key(attribute: &str) -> String {
    format!(
        "(attribute_not_exists({attribute}) OR NOT attribute_type({attribute}, :string) \
         OR size({attribute}) = :zero)"
    )
}

/// The condition "`attribute` is `value` as read" (`:<attribute>`, when set) or holds no key.
fn as_read(
    condition: &mut Vec<String>,
    values: &mut Vec<(String, AttributeValue)>,
    attribute: &str,
    value: Option<&str>,
) {
    match value {
        Some(value) => {
            condition.push(format!("{attribute} = :{attribute}"));
            values.push((format!(":{attribute}"), AttributeValue::S(value.to_owned())));
        }
        None => condition.push(holds_no_key(attribute)),
    }
}

fn key_type_values() -> [(String, AttributeValue); 2] {
    [
        (":string".to_owned(), AttributeValue::S("S".to_owned())),
        (":zero".to_owned(), AttributeValue::N("0".to_owned())),
    ]
}

pub struct DynamoExpiringRecords {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoExpiringRecords {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }
}

#[async_trait]
impl ExpiringRecords for DynamoExpiringRecords {
    async fn expired_in_slot(
        &self,
        slot: ExpirySlot,
        now: i64,
        cursor: Option<PageCursor>,
    ) -> Result<ExpiredPage, PortError> {
        let start = cursor
            .map(|PageCursor(position)| item_codec::to_item(&position))
            .transpose()?;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(EXPIRY_INDEX)
            .key_condition_expression(format!("{EXPIRY_SLOT} = :slot AND {EXPIRES_AT} <= :now"))
            .expression_attribute_values(":slot", AttributeValue::S(slot.to_string()))
            .expression_attribute_values(":now", n(now))
            .set_exclusive_start_key(start)
            .limit(PAGE_SIZE)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        // An index entry without a readable key is skipped (there is nothing to delete by).
        let keys = output
            .items
            .into_iter()
            .flatten()
            .filter_map(|item| item_codec::from_item::<ItemKey>(item).ok())
            .collect();
        let next = match output.last_evaluated_key {
            Some(position) if !position.is_empty() => {
                Some(PageCursor(item_codec::from_item(position)?))
            }
            _ => None,
        };
        Ok(ExpiredPage { keys, next })
    }

    async fn expired_item(&self, key: &ItemKey, now: i64) -> Result<ExpiredLookup, PortError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_codec::key(key)?))
            .condition_expression(format!(
                "{EXPIRES_AT} <= :now AND {} AND {}",
                holds_no_key(MEDIA_KEY),
                holds_no_key(JOURNAL_KEY)
            ))
            .set_expression_attribute_values(Some(
                key_type_values()
                    .into_iter()
                    .chain([(":now".to_owned(), n(now))])
                    .collect(),
            ))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let read = |item| item_codec::from_item::<StoredItem>(item);
        match result {
            // Expired, nothing to delete before it: gone.
            Ok(output) => match output.attributes {
                Some(old) => Ok(ExpiredLookup::Deleted(read(old)?.into())),
                None => Ok(ExpiredLookup::NotExpired),
            },
            Err(error) => match error.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item() {
                        // Expired, pointing at an object: it stays until that is gone.
                        Some(current) => {
                            let item = read(current.clone())?;
                            Ok(if item.is_expired(now) {
                                ExpiredLookup::Holding(item.into())
                            } else {
                                ExpiredLookup::NotExpired
                            })
                        }
                        // Gone already (TTL or another sweep).
                        None => Ok(ExpiredLookup::NotExpired),
                    }
                }
                _ => Err(classify("dynamodb", &error)),
            },
        }
    }

    async fn delete_if_unchanged(&self, item: &ExpiredItem) -> Result<bool, PortError> {
        let Some(expires_at) = item.expires_at else {
            return Ok(false);
        };
        let mut condition = vec![format!("{EXPIRES_AT} = :expires_at")];
        let mut values = vec![(":expires_at".to_owned(), n(expires_at))];
        as_read(
            &mut condition,
            &mut values,
            MEDIA_KEY,
            item.media_key.as_deref(),
        );
        as_read(
            &mut condition,
            &mut values,
            JOURNAL_KEY,
            item.journal_key.as_deref(),
        );
        if condition.iter().any(|part| part.contains(":string")) {
            values.extend(key_type_values());
        }
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_codec::key(&item.key)?))
            .condition_expression(condition.join(" AND "))
            .set_expression_attribute_values(Some(values.into_iter().collect()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // Gone, or changed since it was read (an object added, an erasure, a new expiry).
            Err(error) if item_codec::is_conditional_failure(&error) => Ok(false),
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn sweep_checkpoint(&self) -> Result<Option<i64>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_codec::key(&checkpoint_key())?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        let checkpoint: Option<StoredItem> = output.item.map(item_codec::from_item).transpose()?;
        Ok(checkpoint.and_then(|item| item.next_hour))
    }

    async fn set_sweep_checkpoint(&self, hour: i64) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_codec::to_item(&StoredItem::checkpoint(
                checkpoint_key(),
                hour,
            ))?))
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        Ok(())
    }
}
