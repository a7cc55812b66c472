//! Ports: one small trait per capability the handlers need. Adapters implement them for AWS;
//! in-memory fakes implement them for domain unit tests. No AWS type crosses these traits.

use crate::media_job::MediaJob;
use crate::records::{MediaStatus, Record};
use async_trait::async_trait;

/// A failure of a backing store or service, already classified by the adapter.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// Throttled or briefly unavailable even after the adapter's own retries.
    #[error("{service} is throttling or unavailable: {detail}")]
    Unavailable {
        service: &'static str,
        detail: String,
    },
    /// Any other failure (permissions, missing resource, bad request).
    #[error("{service} call failed: {detail}")]
    Failed {
        service: &'static str,
        detail: String,
    },
}

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
    /// Writes `body` under `key` unless an object already exists there.
    async fn put_if_absent(&self, key: &str, body: &[u8]) -> Result<JournalWrite, PortError>;
}

/// The outcome of a conditional record write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordWrite {
    Created,
    /// An item with the same key exists and was left untouched; its media state is reported so a
    /// lost media job can be sent again.
    AlreadyPresent {
        media_status: Option<MediaStatus>,
    },
}

/// The records table.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Creates the record unless an item with its key exists; never overwrites.
    async fn put_if_absent(&self, record: &Record) -> Result<RecordWrite, PortError>;
}

/// The media job queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues every job or fails; a partial success is retried by the adapter and otherwise
    /// reported as an error (the caller answers 500 and Meta redelivers).
    async fn enqueue(&self, jobs: &[MediaJob]) -> Result<(), PortError>;
}

/// Secrets Manager, as far as readers need it.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The current `SecretString` of a secret.
    async fn secret_string(&self, secret_id: &str) -> Result<String, PortError>;
}

/// Metrics sink (CloudWatch EMF in Lambda). Names only; dimensions never carry user data.
pub trait Metrics: Send + Sync {
    fn count(&self, name: &'static str, value: u64);
    /// Writes what was counted (one EMF line per invocation).
    fn flush(&self) {}
}
