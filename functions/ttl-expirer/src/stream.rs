//! The DynamoDB stream edge: a batch of stream records in (`aws_lambda_events`' DynamoDB `Event`),
//! the TTL removals' old images read as the core's typed items (the records-table codec) and
//! mapped to what the expiry use case needs, and the partial batch response out
//! (`DynamoDbEventResponse`, for `ReportBatchItemFailures`).

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use wavault_aws::item_codec;
use wavault_core::records::StoredItem;
use wavault_core::retention::{ExpiredItem, Expirer};

/// Who deletes on behalf of the TTL service: only its removals are ours to clean up after (the
/// sweep and erasures clean up themselves; the event source mapping filters on this too).
pub const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

/// A removal by the TTL service (not by the sweep, an erasure or a person).
pub fn is_ttl_removal(record: &EventRecord) -> bool {
    record.event_name == "REMOVE"
        && record
            .user_identity
            .as_ref()
            .is_some_and(|who| who.type_ == "Service" && who.principal_id == TTL_PRINCIPAL)
}

/// What cleanup needs from the old image, read through the records-table codec (an attribute of
/// an unexpected type reads as absent); `None` when the image does not read as an item (no key).
pub fn expired_item(record: &EventRecord) -> Option<ExpiredItem> {
    item_codec::from_image::<StoredItem>(record.change.old_image.clone())
        .ok()
        .map(ExpiredItem::from)
}

/// Cleans up after the batch's TTL removals; anything else in the batch is skipped. A failure
/// reports its record's sequence number: Lambda retries the batch from there.
pub async fn after_ttl(expirer: &Expirer, batch: Event) -> DynamoDbEventResponse {
    let mut items = Vec::new();
    let mut sequence_numbers = Vec::new();
    let mut skipped = 0;
    for record in &batch.records {
        match expired_item(record).filter(|_| is_ttl_removal(record)) {
            Some(item) => {
                items.push(item);
                sequence_numbers.push(record.change.sequence_number.clone().unwrap_or_default());
            }
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::info!(event = "stream_records_skipped", skipped);
    }
    let (_, failure) = expirer.after_ttl_removals(&items).await;
    let mut response = DynamoDbEventResponse::default();
    if let Some((index, error)) = failure {
        tracing::warn!(event = "ttl_cleanup_failed", error = %error);
        if let Some(sequence_number) = sequence_numbers.get(index) {
            let mut item = DynamoDbBatchItemFailure::default();
            item.item_identifier = Some(sequence_number.clone());
            response.batch_item_failures.push(item);
        }
    }
    response
}

#[cfg(test)]
#[path = "tests/stream.rs"]
mod tests;
