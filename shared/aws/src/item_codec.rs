//! The one codec between the core's typed records-table items ([`StoredItem`], [`ItemKey`]) and
//! DynamoDB attribute values, over serde_dynamo: puts, keys, gets, query results, delete returns
//! and the stream's old images all go through it, so attribute names and types are those the
//! core's model declares (strings `S`, whole numbers `N`, absent attributes not written).
//!
//! Expressions still name attributes; they use [`wavault_core::records::attributes`].
//!
//! [`StoredItem`]: wavault_core::records::StoredItem

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use wavault_core::error::PortError;
use wavault_core::records::ItemKey;

/// An item as the SDK carries it.
pub type DynamoItem = HashMap<String, AttributeValue>;

/// An item image as a DynamoDB stream delivers it (`aws_lambda_events` uses serde_dynamo's own
/// attribute values).
pub type StreamImage = serde_dynamo::Item;

const SERVICE: &str = "dynamodb";

/// The attribute map of a typed item (or key).
pub fn to_item<T: Serialize>(value: &T) -> Result<DynamoItem, PortError> {
    serde_dynamo::to_item(value)
        .map_err(|e| PortError::failed(SERVICE, "encoding an item").caused_by(&e))
}

/// The key attributes of an item, for GetItem, DeleteItem and UpdateItem.
pub fn key(key: &ItemKey) -> Result<DynamoItem, PortError> {
    to_item(key)
}

/// One attribute value, for an expression's `:placeholder`.
pub fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue, PortError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| PortError::failed(SERVICE, "encoding an attribute value").caused_by(&e))
}

/// A typed item (or key) from an attribute map the SDK returned.
pub fn from_item<T: DeserializeOwned>(item: DynamoItem) -> Result<T, PortError> {
    let known: DynamoItem = item
        .into_iter()
        .filter_map(|(name, value)| Some((name, known_value(value)?)))
        .collect();
    serde_dynamo::from_item(known)
        .map_err(|e| PortError::failed(SERVICE, "decoding an item").caused_by(&e))
}

/// A typed item from a stream image.
pub fn from_image<T: DeserializeOwned>(image: StreamImage) -> Result<T, PortError> {
    serde_dynamo::from_item(image)
        .map_err(|e| PortError::failed(SERVICE, "decoding a stream image").caused_by(&e))
}

/// A conditional write or delete whose condition did not hold (the item changed, exists, or is gone).
pub fn is_conditional_failure<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(error)
        == Some("ConditionalCheckFailedException")
}

/// The value without any part of a type this SDK does not know (`Unknown`: a type DynamoDB added
/// later), which serde_dynamo's conversion cannot represent; such a part reads as absent.
fn known_value(value: AttributeValue) -> Option<AttributeValue> {
    Some(match value {
        AttributeValue::M(map) => AttributeValue::M(
            map.into_iter()
                .filter_map(|(name, value)| Some((name, known_value(value)?)))
                .collect(),
        ),
        AttributeValue::L(list) => {
            AttributeValue::L(list.into_iter().filter_map(known_value).collect())
        }
        value if value.is_unknown() => return None,
        value => value,
    })
}

#[cfg(test)]
#[path = "tests/item_codec.rs"]
mod tests;
