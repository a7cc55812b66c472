//! Which trigger invoked the expirer, as one untagged enum, and the work each one does.
//!
//! - DynamoDB stream (`{"Records": [..]}`, filtered to TTL removals): clean up after each removed
//!   item; a failure reports the batch item so Lambda retries from it.
//! - `{"action": "sweep"}` (the hourly schedule's Input, or an operator) or a `Scheduled Event` (a
//!   schedule without Input): delete what has expired but TTL has not removed yet.
//!
//! Anything else runs the sweep, as it always has (the sweep is idempotent); a `Records` document
//! that is not a stream batch fails the invocation.

use crate::stream;
use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::Error;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use wavault_core::retention::Expirer;

/// One invocation's event. Serde tries the variants in this order: a stream batch needs
/// `Records`, an action needs `action` (one of [`Action`]), a scheduled event `detail-type`,
/// `source` and `detail`; so no payload matches an earlier variant than its own.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Invocation {
    /// A batch of stream records.
    Stream(Event),
    /// A `Records` document that is not a stream batch.
    UnreadableBatch {
        #[serde(rename = "Records")]
        _records: IgnoredAny,
    },
    /// `{"action": ..}`.
    Action { action: Action },
    /// An EventBridge scheduled event (a schedule without Input): matched for its shape, its
    /// fields are not needed.
    #[allow(dead_code)]
    Scheduled(EventBridgeEvent),
    /// Anything else.
    Other(IgnoredAny),
}

/// What `{"action": ..}` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Sweep,
}

/// A `Records` document that is not a DynamoDB stream batch (never sent by Lambda).
#[derive(Debug)]
pub struct UnreadableBatch;

impl std::fmt::Display for UnreadableBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an event with Records that is not a DynamoDB stream batch")
    }
}

impl std::error::Error for UnreadableBatch {}

/// One invocation: the batch response or the sweep's report. Sweep errors fail the invocation
/// (alarmed).
pub async fn handle(expirer: &Expirer, event: Invocation) -> Result<Value, Error> {
    match event {
        Invocation::Stream(batch) => Ok(serde_json::to_value(
            stream::after_ttl(expirer, batch).await,
        )?),
        Invocation::UnreadableBatch { .. } => Err(UnreadableBatch.into()),
        Invocation::Action {
            action: Action::Sweep,
        }
        | Invocation::Scheduled(_)
        | Invocation::Other(_) => {
            let report = expirer.sweep().await?;
            Ok(json!({
                "records_expired": report.records_expired,
                "media_deleted": report.media_deleted,
                "journal_deleted": report.journal_deleted,
                "bytes_freed": report.bytes_freed,
                "hours_swept": report.hours_swept,
            }))
        }
    }
}

#[cfg(test)]
#[path = "tests/invocation.rs"]
mod tests;
