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
    /// Records the latest value of a gauge (e.g. `TokenDaysToExpiry`); sinks without gauges
    /// ignore it.
    fn gauge(&self, _name: &'static str, _value: f64) {}
    /// Writes what was counted (one EMF line per invocation).
    fn flush(&self) {}
}

/// Metadata written with an archived object: ids, MIME type and digest only, never user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub wamid: String,
    pub media_id: String,
    pub mime_type: Option<String>,
    pub sha256_hex: String,
}

/// The outcome of writing an object that may already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutResult {
    Created,
    AlreadyExists,
}

/// A part of a multipart upload, as needed to complete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    pub part_number: i32,
    pub etag: String,
    pub checksum_sha256: Option<String>,
}

/// Removes archive objects (media, journal) for good: retention and erasure must not leave an
/// older version behind, should the bucket ever be versioned.
#[async_trait]
pub trait ArchiveObjects: Send + Sync {
    /// Deletes every version and delete marker of `key`; an absent key is success.
    async fn delete_all_versions(&self, key: &str) -> Result<(), PortError>;
}

/// One part's bytes as the download delivers them: exactly `length` bytes, then the channel
/// closes. Streaming a part straight from the download keeps the fetcher's memory independent of
/// the part size (a buffered part would cost `PART_SIZE` per part in flight).
#[derive(Debug)]
pub struct PartStream {
    pub length: u64,
    pub chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
}

/// The archive bucket's media objects.
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// One request: S3 checks the body against `sha256` and refuses it on mismatch; nothing is
    /// written if an object already exists.
    async fn put_whole(
        &self,
        key: &str,
        body: bytes::Bytes,
        sha256: [u8; 32],
        meta: &ObjectMeta,
    ) -> Result<PutResult, PortError>;
    /// Starts a multipart upload (invisible until completed). `meta.sha256_hex` is unknown yet
    /// and written when completing is impossible, so the digest goes into the record instead.
    async fn begin_multipart(&self, key: &str, meta: &ObjectMeta) -> Result<String, PortError>;
    /// Uploads one part (S3 checksums it in transit).
    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: bytes::Bytes,
    ) -> Result<UploadedPart, PortError>;
    /// Uploads one part of known length while its bytes still arrive (S3 checksums it in transit
    /// with a trailing checksum). A stream that closes short fails the part.
    async fn upload_part_stream(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        part: PartStream,
    ) -> Result<UploadedPart, PortError>;
    /// Completes the upload if the key is free (`AlreadyExists`, and the upload aborted, when it
    /// is not). The metadata, `sha256` included, was given when the upload began: nothing is
    /// written onto the object afterwards.
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<UploadedPart>,
    ) -> Result<PutResult, PortError>;
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), PortError>;
    /// Deletes the object (absent is fine).
    async fn delete(&self, key: &str) -> Result<(), PortError>;
}

/// What an archived media record gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedMedia {
    pub key: String,
    pub sha256_hex: String,
    pub bytes: u64,
    pub archived_at: i64,
}

/// The outcome of a conditional media-record update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaUpdate {
    Updated,
    /// The record no longer exists (erased or expired): the archive must not outlive it.
    RecordGone,
    /// The record is not in a state this update may change (e.g. already archived).
    Unchanged,
}

/// What a media job finds when it looks up its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRecordState {
    /// No record: absent, erased (a tombstone) or expired (TTL deletes late, so an expired item
    /// is treated as gone).
    Gone,
    /// The record is live, with its media status (`None` when it carries none).
    Live(Option<MediaStatus>),
}

/// The media side of message records.
#[async_trait]
pub trait MediaRecords: Send + Sync {
    /// The record's state at `now`.
    async fn media_status(&self, wamid: &str, now: i64) -> Result<MediaRecordState, PortError>;
    /// `archived` with key, digest and size; only while the record exists, is not erased and has
    /// not expired at `archived.archived_at`.
    async fn mark_archived(
        &self,
        wamid: &str,
        archived: &ArchivedMedia,
    ) -> Result<MediaUpdate, PortError>;
    /// Back to `pending` under index partition `shard` (the redrive of a dead-lettered job);
    /// only while `failed` as dead-lettered.
    async fn mark_pending_again(&self, wamid: &str, shard: &str) -> Result<MediaUpdate, PortError>;
    /// `failed` with a short reason (no user data); only while still `pending`.
    async fn mark_failed(
        &self,
        wamid: &str,
        reason: &str,
        at: i64,
        dead_lettered: bool,
    ) -> Result<MediaUpdate, PortError>;
}

/// A media record still waiting for its file, as the sparse `media-pending` index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMedia {
    pub job: MediaJob,
    pub deadline: i64,
}

/// The sparse index of pending media (no table scan).
#[async_trait]
pub trait PendingIndex: Send + Sync {
    /// Every pending media record of one index partition.
    async fn pending(&self, shard: &str) -> Result<Vec<PendingMedia>, PortError>;
}

/// A job received from the dead-letter queue.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub receipt_handle: String,
    /// `None` when the message is not a readable job.
    pub job: Option<MediaJob>,
}

/// The media queue's dead-letter queue.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Up to ten messages (empty when drained).
    async fn receive(&self) -> Result<Vec<DeadLetter>, PortError>;
    async fn delete(&self, receipt_handle: &str) -> Result<(), PortError>;
}
