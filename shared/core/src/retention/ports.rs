//! The records table as retention sees it: removed items (TTL's stream) and the sharded hourly
//! expiry index.

use crate::error::PortError;
use crate::records::{ItemKey, ItemKind, StoredItem};
use crate::retention::ExpirySlot;
use async_trait::async_trait;

/// What cleanup needs of a removed item (read from its old image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredItem {
    pub key: ItemKey,
    /// `None` when the item has no (known) kind.
    pub kind: Option<ItemKind>,
    pub media_key: Option<String>,
    pub media_bytes: u64,
    pub journal_key: Option<String>,
}

impl From<StoredItem> for ExpiredItem {
    fn from(item: StoredItem) -> Self {
        Self {
            key: item.key,
            kind: item.kind,
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
    /// Deletes the item only if it is still expired at `now`; what it held, or `None` when it
    /// was already gone (TTL or an earlier sweep got there first) or is no longer expired.
    async fn delete_if_expired(
        &self,
        key: &ItemKey,
        now: i64,
    ) -> Result<Option<ExpiredItem>, PortError>;
    /// The first expiry hour the next sweep must read (`None` before the first sweep).
    async fn sweep_checkpoint(&self) -> Result<Option<i64>, PortError>;
    async fn set_sweep_checkpoint(&self, hour: i64) -> Result<(), PortError>;
}
