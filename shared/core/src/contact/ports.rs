//! The ports erasure and export call: the records table by contact, the journal, archived objects.

use super::ids::ContactIndex;
use crate::error::PortError;
use crate::records::{ItemKey, StoredItem};
use async_trait::async_trait;
use futures::stream::Stream;
use std::pin::Pin;

/// What replaces an erased record: keys, `kind = erased`, when, and the original expiry so TTL
/// still removes it. No contact hash, no raw element, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub erased_at: i64,
    pub expires_at: Option<i64>,
}

impl Tombstone {
    /// The item that replaces the record under `key`.
    pub fn item(&self, key: &ItemKey) -> StoredItem {
        StoredItem::tombstone(key.clone(), self.erased_at, self.expires_at)
    }
}

/// The outcome of a conditional tombstone write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TombstoneWrite {
    Written,
    /// The item changed since it was read (e.g. its media was archived meanwhile), is already a
    /// tombstone, or is gone: read it again.
    Changed,
}

/// The records table as erasure and export use it.
#[async_trait]
pub trait ContactRecords: Send + Sync {
    /// Keys of every item the index holds under `hash` (all pages).
    async fn keys(&self, index: ContactIndex, hash: &str) -> Result<Vec<ItemKey>, PortError>;
    /// The whole item, strongly consistent.
    async fn get(&self, key: &ItemKey) -> Result<Option<StoredItem>, PortError>;
    /// Replaces the item with `tombstone` if it is still a live record whose `media_key` is
    /// `expected_media_key` (absent when `None`), so media archived after the read is not lost
    /// track of.
    async fn tombstone(
        &self,
        key: &ItemKey,
        tombstone: &Tombstone,
        expected_media_key: Option<&str>,
    ) -> Result<TombstoneWrite, PortError>;
    /// Writes an erasure marker ([`super::ErasureMarker`]), replacing an older one.
    async fn mark_erased(&self, marker: &StoredItem) -> Result<(), PortError>;
}

/// Journal objects, read and rewritten whole (webhook bodies are at most a few hundred KB).
#[async_trait]
pub trait JournalObjects: Send + Sync {
    /// The object's bytes, `None` when absent.
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, PortError>;
    /// Writes `body` under `key` with the journal's encryption, leaving no older version behind.
    async fn replace(&self, key: &str, body: Vec<u8>) -> Result<(), PortError>;
}

/// An object's bytes as they arrive.
pub type ObjectChunks = Pin<Box<dyn Stream<Item = Result<bytes::Bytes, PortError>> + Send>>;

/// Archive objects read as a stream, so a 100 MiB file never sits in memory.
#[async_trait]
pub trait ObjectSource: Send + Sync {
    /// The object's bytes, `None` when absent.
    async fn open(&self, key: &str) -> Result<Option<ObjectChunks>, PortError>;
}
