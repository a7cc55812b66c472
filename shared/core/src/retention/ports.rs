//! The records table as retention sees it: removed items (TTL's stream) and the hourly expiry index.

use crate::error::PortError;
use crate::records::ItemKey;
use async_trait::async_trait;

/// What cleanup needs of a removed item (read from its old image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredItem {
    pub key: ItemKey,
    /// `kind` attribute (`message`, `status`, `error`, `journal-link`, `erased`).
    pub kind: String,
    pub media_key: Option<String>,
    pub media_bytes: u64,
    pub journal_key: Option<String>,
}

/// The records table as retention sees it.
#[async_trait]
pub trait ExpiringRecords: Send + Sync {
    /// A page of keys of items in expiry hour `hour` with `expires_at <= now`, read from the
    /// expiry index (never a table scan), and the cursor of the next page.
    async fn expired_in_hour(
        &self,
        hour: i64,
        now: i64,
        cursor: Option<String>,
    ) -> Result<(Vec<ItemKey>, Option<String>), PortError>;
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
