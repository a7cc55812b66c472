//! The ports the media use cases (archiver, media sweep) call, besides Graph ([`super::graph`]).

use crate::error::PortError;
use crate::media::MediaJob;
use crate::records::MediaStatus;
use async_trait::async_trait;

/// Metadata written with an archived object: the record's key, MIME type and digest only; never
/// a wamid or a media id (object metadata is not encrypted content), never user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The partition key of the message's record (see [`MediaJob::record`]).
    pub record: String,
    pub mime_type: Option<String>,
    /// The object's sha256 in hex; empty when it is not known when the object is created (a
    /// multipart file Meta declared no digest for): no `sha256` metadata is written then, since
    /// metadata cannot be changed afterwards and must never be false.
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
    /// Starts a multipart upload (invisible until completed) with `meta` as the object's metadata
    /// for good: S3 cannot change it on completion, so a `sha256` is written only when it is
    /// known now (the declared digest); an empty `meta.sha256_hex` writes none.
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
    /// The bytes matched a digest Meta declared; `false` when Meta declared none that decodes
    /// (`sha256_hex` is then what was downloaded). Unverified records stay findable in the
    /// pending index under `unverified#N` ([`UNVERIFIED_SHARD_PREFIX`]), for the sweep's count.
    pub verified: bool,
}

/// Index partitions (`<prefix><shard>`) of the `media-pending` index that hold archived media
/// without a verified digest, counted by the media sweep.
pub const UNVERIFIED_SHARD_PREFIX: &str = "unverified#";
/// Index partitions of dead-lettered media, read by the redrive.
pub const DEAD_LETTERED_SHARD_PREFIX: &str = "dlq#";

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

/// The media side of message records, each named by its partition key (`record`).
#[async_trait]
pub trait MediaRecords: Send + Sync {
    /// The record's state at `now`.
    async fn media_status(&self, record: &str, now: i64) -> Result<MediaRecordState, PortError>;
    /// `archived` with key, digest and size; only while the record exists, is not erased and has
    /// not expired at `archived.archived_at`.
    async fn mark_archived(
        &self,
        record: &str,
        archived: &ArchivedMedia,
    ) -> Result<MediaUpdate, PortError>;
    /// Back to `pending` under index partition `shard` (the redrive of a dead-lettered job),
    /// its next delivery expected `at` (the redrive enqueues it now); only while `failed` as
    /// dead-lettered.
    async fn mark_pending_again(
        &self,
        record: &str,
        shard: &str,
        at: i64,
    ) -> Result<MediaUpdate, PortError>;
    /// A retried job's next delivery is expected by `next_attempt_at` (the end of its backoff);
    /// only while the record is still `pending`. The media sweep leaves it alone until then.
    async fn expect_attempt(
        &self,
        record: &str,
        next_attempt_at: i64,
    ) -> Result<MediaUpdate, PortError>;
    /// The sweep's claim on a job it is about to enqueue again: sets the expected delivery to
    /// `now`, only while the record is `pending`, live at `now`, and its expected delivery
    /// (absent: its receipt) is at or before `stale_before`. `Updated` means this caller, and no
    /// concurrent sweep, enqueues it.
    async fn claim_reenqueue(
        &self,
        record: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<MediaUpdate, PortError>;
    /// `failed` with a short reason (no user data); only while still `pending`.
    async fn mark_failed(
        &self,
        record: &str,
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
    /// How many entries one index partition holds (a count, no items read back).
    async fn count(&self, shard: &str) -> Result<u64, PortError>;
}

/// The media queue as the sweep sees it.
#[async_trait]
pub trait QueueBacklog: Send + Sync {
    /// Jobs visible on the queue, waiting for a fetcher (SQS `ApproximateNumberOfMessages`):
    /// while there are any, a pending record's job may simply be among them.
    async fn visible_jobs(&self) -> Result<u64, PortError>;
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
