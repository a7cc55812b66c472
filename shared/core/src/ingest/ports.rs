//! The ports the ingest use case writes through: the journal, the records table, the media queue.

use crate::error::PortError;
use crate::media::MediaJob;
use crate::records::{ItemKey, MediaStatus, Record};
use async_trait::async_trait;
use std::collections::HashMap;

/// The outcome of writing a journal object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalWrite {
    Created,
    /// The same content-addressed object was already there (a redelivery).
    AlreadyPresent,
}

/// Durable storage of verified raw webhook bodies.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Writes `body` under `key` unless an object already exists there, with the time the
    /// webhook received it (epoch seconds), which a replay reads back.
    async fn put_if_absent(
        &self,
        key: &str,
        body: &[u8],
        received_at: i64,
    ) -> Result<JournalWrite, PortError>;
}

/// The outcome of a conditional record write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordWrite {
    Created,
    /// An item with the same key exists and was left untouched; its media state is reported so a
    /// lost media job can be sent again, and its receipt time so that job names the same object
    /// key as the first (the key's date is the first receipt's, not the redelivery's).
    AlreadyPresent {
        media_status: Option<MediaStatus>,
        received_at: Option<i64>,
    },
}

/// The records table.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Creates the record unless an item with its key exists; never overwrites.
    async fn put_if_absent(&self, record: &Record) -> Result<RecordWrite, PortError>;
    /// The erasure markers among `keys` ([`crate::contact::ErasureMarker`]): partition key ->
    /// `erased_at`. Absent keys are simply not in the map.
    async fn erasure_markers(&self, keys: &[ItemKey]) -> Result<HashMap<String, i64>, PortError>;
}

/// The media job queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues every job or fails; a partial success is retried by the adapter and otherwise
    /// reported as an error (the caller answers 500 and Meta redelivers).
    async fn enqueue(&self, jobs: &[MediaJob]) -> Result<(), PortError>;
}
