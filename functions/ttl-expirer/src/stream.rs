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

/// A batch's TTL removals, read in order up to the first that does not read as an item.
#[derive(Debug, Default)]
pub struct TtlRemovals {
    pub items: Vec<ExpiredItem>,
    /// Each item's sequence number (empty when the record had none).
    pub sequence_numbers: Vec<String>,
    /// Records that are not TTL removals.
    pub skipped: usize,
    /// The sequence number of a TTL removal whose old image does not read as an item (never with
    /// the table's `OLD_IMAGE` stream): its objects are unknown, so it must not pass as cleaned
    /// up; the batch is retried from it.
    pub unreadable: Option<String>,
}

/// The batch's TTL removals; anything else in the batch is skipped.
pub fn ttl_removals(batch: &Event) -> TtlRemovals {
    let mut removals = TtlRemovals::default();
    for record in &batch.records {
        if !is_ttl_removal(record) {
            removals.skipped += 1;
            continue;
        }
        let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
        match expired_item(record) {
            Some(item) => {
                removals.items.push(item);
                removals.sequence_numbers.push(sequence_number);
            }
            None => {
                removals.unreadable = Some(sequence_number);
                break;
            }
        }
    }
    removals
}

/// Cleans up after the batch's TTL removals. A failure reports its record's sequence number:
/// Lambda retries the batch from there (10 times, bisecting, then sends it to the on-failure
/// queue, alarmed), so no removal passes uncleaned.
pub async fn after_ttl(expirer: &Expirer, batch: Event) -> DynamoDbEventResponse {
    let removals = ttl_removals(&batch);
    if removals.skipped > 0 {
        tracing::info!(event = "stream_records_skipped", skipped = removals.skipped);
    }
    if removals.unreadable.is_some() {
        tracing::warn!(event = "ttl_removal_unreadable");
    }
    let (_, failure) = expirer.after_ttl_removals(&removals.items).await;
    let retry_from = match failure {
        Some((index, error)) => {
            tracing::warn!(event = "ttl_cleanup_failed", error = %error);
            removals.sequence_numbers.get(index).cloned()
        }
        None => removals.unreadable,
    };
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence_number) = retry_from {
        // An empty identifier (a record without a sequence number) fails the whole batch.
        let mut item = DynamoDbBatchItemFailure::default();
        item.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(item);
    }
    response
}

#[cfg(test)]
#[path = "tests/stream.rs"]
mod tests;
