//! The records table as retention reads it: the sharded `by-expiry-hour` index, conditional
//! deletes and the sweep's checkpoint item, all as the core's typed items through
//! [`crate::item_codec`].

use crate::classify;
use crate::item_codec;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use wavault_core::error::PortError;
use wavault_core::records::attributes::{EXPIRES_AT, EXPIRY_SLOT};
use wavault_core::records::{ItemKey, StoredItem};
use wavault_core::retention::{ExpiredItem, ExpiredPage, ExpiringRecords, ExpirySlot, PageCursor};

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

    async fn delete_if_expired(
        &self,
        key: &ItemKey,
        now: i64,
    ) -> Result<Option<ExpiredItem>, PortError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_codec::key(key)?))
            .condition_expression(format!("{EXPIRES_AT} <= :now"))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => output
                .attributes
                .map(|old| item_codec::from_item::<StoredItem>(old).map(ExpiredItem::from))
                .transpose(),
            // Gone already (TTL or another sweep) or no longer expired: nothing to do.
            Err(error) if item_codec::is_conditional_failure(&error) => Ok(None),
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
