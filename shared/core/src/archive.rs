//! The archive bucket as retention and erasure remove from it.

use crate::error::PortError;
use async_trait::async_trait;

/// Removes archive objects (media, journal) for good: retention and erasure must not leave an
/// older version behind, should the bucket ever be versioned.
#[async_trait]
pub trait ArchiveObjects: Send + Sync {
    /// Deletes every version and delete marker of `key`; an absent key is success.
    async fn delete_all_versions(&self, key: &str) -> Result<(), PortError>;
}
