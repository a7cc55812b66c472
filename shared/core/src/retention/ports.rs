//! The records table as retention sees it: removed items (TTL's stream) and the sharded hourly
//! expiry index.

use crate::error::PortError;
use crate::records::{ItemKey, ItemKind, StoredItem};
use crate::retention::ExpirySlot;
use async_trait::async_trait;

/// What cleanup needs of an expired item (read from the table, or from a removed item's old
/// image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredItem {
    pub key: ItemKey,
    /// `None` when the item has no (known) kind.
    pub kind: Option<ItemKind>,
    /// As read: the sweep deletes the item only while it is still this (so still expired).
    pub expires_at: Option<i64>,
    pub media_key: Option<String>,
    pub media_bytes: u64,
    pub journal_key: Option<String>,
}

impl ExpiredItem {
    /// Whether it points at an object (media or journal) that must go before it.
    pub fn holds_objects(&self) -> bool {
        self.media_key.is_some() || self.journal_key.is_some()
    }
}

impl From<StoredItem> for ExpiredItem {
    fn from(item: StoredItem) -> Self {
        Self {
            key: item.key,
            kind: item.kind,
            expires_at: item.expires_at,
            media_key: item.media_key,
            media_bytes: item.media_bytes.unwrap_or(0),
            journal_key: item.journal_key,
        }
    }
}

/// Where the next page of an expiry slot starts: the index entry the previous page ended on
/// (its table and index keys), handed back as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor(pub StoredItem);

/// One page of an expiry slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiredPage {
    pub keys: Vec<ItemKey>,
    /// `None` on the slot's last page.
    pub next: Option<PageCursor>,
}

/// What the sweep found under a key the expiry index gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpiredLookup {
    /// Gone (TTL or an earlier sweep got there first), or not expired at `now` (any more).
    NotExpired,
    /// Expired and pointing at no object (a tombstone, an erasure marker): already deleted, as
    /// the read allows (nothing had to go before it).
    Deleted(ExpiredItem),
    /// Expired and pointing at a media or journal object: still in the table (so still in the
    /// index), for the sweep to delete its objects and then the item
    /// ([`ExpiringRecords::delete_if_unchanged`]).
    Holding(ExpiredItem),
}

/// The records table as retention sees it.
#[async_trait]
pub trait ExpiringRecords: Send + Sync {
    /// A page of keys of items in expiry slot `slot` (one shard of an expiry hour) with
    /// `expires_at <= now`, read from the expiry index (never a table scan), starting after
    /// `cursor`.
    async fn expired_in_slot(
        &self,
        slot: ExpirySlot,
        now: i64,
        cursor: Option<PageCursor>,
    ) -> Result<ExpiredPage, PortError>;
    /// The item under `key` as it is now (a consistent read) if it has expired at `now`. One
    /// that points at no object may be deleted right away ([`ExpiredLookup::Deleted`]); one that
    /// does stays ([`ExpiredLookup::Holding`]) until [`ExpiringRecords::delete_if_unchanged`].
    async fn expired_item(&self, key: &ItemKey, now: i64) -> Result<ExpiredLookup, PortError>;
    /// Deletes the item only if it is still as `item` was read: the same `expires_at` (so still
    /// expired) and the same media and journal objects (so none was added since, whose object
    /// would be left behind). `false` when it is gone or changed: nothing was deleted.
    async fn delete_if_unchanged(&self, item: &ExpiredItem) -> Result<bool, PortError>;
    /// The first expiry hour the next sweep must read (`None` before the first sweep).
    async fn sweep_checkpoint(&self) -> Result<Option<i64>, PortError>;
    async fn set_sweep_checkpoint(&self, hour: i64) -> Result<(), PortError>;
}
