//! The records table as retention reads it: the `by-expiry-hour` index, conditional deletes and
//! the sweep's checkpoint item.

use crate::classify;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::HashMap;
use wavault_core::error::PortError;
use wavault_core::records::ItemKey;
use wavault_core::retention::{ExpiredItem, ExpiringRecords};

/// Index the sweep reads: HASH `expiry_hour`, RANGE `expires_at`, keys only.
pub const EXPIRY_INDEX: &str = "by-expiry-hour";
/// Keys read per query page (bounds the memory and the work between checkpoints).
const PAGE_SIZE: i32 = 500;
/// The sweep's checkpoint item: no `expires_at`, so neither TTL nor the sweep ever removes it.
const CHECKPOINT_WAMID: &str = "sweep.retention";
const CHECKPOINT_SK: &str = "checkpoint";

pub struct DynamoExpiringRecords {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoExpiringRecords {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }
}

/// A page cursor: DynamoDB's `LastEvaluatedKey` of the index, kept opaque for the domain.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    wamid: String,
    sk: String,
    expiry_hour: String,
    expires_at: String,
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name)? {
        AttributeValue::S(value) | AttributeValue::N(value) => Some(value.clone()),
        _ => None,
    }
}

fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Option<String> {
    let cursor = Cursor {
        wamid: text(key, "wamid")?,
        sk: text(key, "sk")?,
        expiry_hour: text(key, "expiry_hour")?,
        expires_at: text(key, "expires_at")?,
    };
    serde_json::to_string(&cursor).ok()
}

fn decode_cursor(cursor: &str) -> Result<HashMap<String, AttributeValue>, PortError> {
    let cursor: Cursor = serde_json::from_str(cursor)
        .map_err(|_| PortError::failed("dynamodb", "malformed sweep cursor"))?;
    Ok(HashMap::from([
        ("wamid".to_owned(), AttributeValue::S(cursor.wamid)),
        ("sk".to_owned(), AttributeValue::S(cursor.sk)),
        (
            "expiry_hour".to_owned(),
            AttributeValue::N(cursor.expiry_hour),
        ),
        (
            "expires_at".to_owned(),
            AttributeValue::N(cursor.expires_at),
        ),
    ]))
}

/// What cleanup needs of an item image (a deleted item's old attributes).
pub fn expired_item(item: &HashMap<String, AttributeValue>) -> Option<ExpiredItem> {
    Some(ExpiredItem {
        key: ItemKey {
            wamid: text(item, "wamid")?,
            sk: text(item, "sk")?,
        },
        kind: text(item, "kind").unwrap_or_default(),
        media_key: text(item, "media_key"),
        media_bytes: text(item, "media_bytes")
            .and_then(|b| b.parse().ok())
            .unwrap_or(0),
        journal_key: text(item, "journal_key"),
    })
}

#[async_trait]
impl ExpiringRecords for DynamoExpiringRecords {
    async fn expired_in_hour(
        &self,
        hour: i64,
        now: i64,
        cursor: Option<String>,
    ) -> Result<(Vec<ItemKey>, Option<String>), PortError> {
        let start = cursor.as_deref().map(decode_cursor).transpose()?;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(EXPIRY_INDEX)
            .key_condition_expression("expiry_hour = :hour AND expires_at <= :now")
            .expression_attribute_values(":hour", AttributeValue::N(hour.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .set_exclusive_start_key(start)
            .limit(PAGE_SIZE)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        let keys = output
            .items()
            .iter()
            .filter_map(|item| {
                Some(ItemKey {
                    wamid: text(item, "wamid")?,
                    sk: text(item, "sk")?,
                })
            })
            .collect();
        let next = output.last_evaluated_key().and_then(encode_cursor);
        Ok((keys, next))
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
            .key("wamid", AttributeValue::S(key.wamid.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .condition_expression("expires_at <= :now")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.attributes().and_then(expired_item)),
            // Gone already (TTL or another sweep) or no longer expired: nothing to do.
            Err(error)
                if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&error)
                    == Some("ConditionalCheckFailedException") =>
            {
                Ok(None)
            }
            Err(error) => Err(classify("dynamodb", &error)),
        }
    }

    async fn sweep_checkpoint(&self) -> Result<Option<i64>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("wamid", AttributeValue::S(CHECKPOINT_WAMID.to_owned()))
            .key("sk", AttributeValue::S(CHECKPOINT_SK.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        Ok(output
            .item()
            .and_then(|item| text(item, "next_hour"))
            .and_then(|hour| hour.parse().ok()))
    }

    async fn set_sweep_checkpoint(&self, hour: i64) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("wamid", AttributeValue::S(CHECKPOINT_WAMID.to_owned()))
            .item("sk", AttributeValue::S(CHECKPOINT_SK.to_owned()))
            .item("kind", AttributeValue::S("checkpoint".to_owned()))
            .item("next_hour", AttributeValue::N(hour.to_string()))
            .send()
            .await
            .map_err(|e| classify("dynamodb", &e))?;
        Ok(())
    }
}
