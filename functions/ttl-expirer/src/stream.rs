//! The DynamoDB stream event as Lambda delivers it, read with our own serde types (only the
//! fields used), and the partial batch response.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use wavault_core::expiry::{ExpiredItem, ItemKey};

/// Who deletes on behalf of the TTL service: only its removals are ours to clean up after (the
/// sweep and erasures clean up themselves; the event source mapping filters on this too).
pub const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    #[serde(rename = "userIdentity", default)]
    pub user_identity: Option<UserIdentity>,
    #[serde(default)]
    pub dynamodb: StreamChange,
}

#[derive(Debug, Deserialize)]
pub struct UserIdentity {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(rename = "principalId", default)]
    pub principal_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
    #[serde(rename = "OldImage", default)]
    pub old_image: HashMap<String, serde_json::Value>,
}

/// `{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}`: Lambda retries the batch
/// from the first one reported.
#[derive(Debug, Default, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl StreamRecord {
    /// A removal by the TTL service (not by the sweep, an erasure or a person).
    pub fn is_ttl_removal(&self) -> bool {
        self.event_name == "REMOVE"
            && self
                .user_identity
                .as_ref()
                .is_some_and(|who| who.kind == "Service" && who.principal_id == TTL_PRINCIPAL)
    }

    /// What cleanup needs from the old image; `None` when the image lacks the key.
    pub fn expired_item(&self) -> Option<ExpiredItem> {
        let image = &self.dynamodb.old_image;
        Some(ExpiredItem {
            key: ItemKey {
                wamid: attribute(image, "wamid")?,
                sk: attribute(image, "sk")?,
            },
            kind: attribute(image, "kind").unwrap_or_default(),
            media_key: attribute(image, "media_key"),
            media_bytes: attribute(image, "media_bytes")
                .and_then(|b| b.parse().ok())
                .unwrap_or(0),
            journal_key: attribute(image, "journal_key"),
        })
    }
}

/// A string or number attribute in DynamoDB JSON (`{"S": ".."}`, `{"N": ".."}`).
fn attribute(image: &HashMap<String, serde_json::Value>, name: &str) -> Option<String> {
    let value = image.get(name)?;
    value
        .get("S")
        .or_else(|| value.get("N"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

#[cfg(test)]
#[path = "tests/stream.rs"]
mod tests;
