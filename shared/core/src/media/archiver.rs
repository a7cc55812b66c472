//! The media-archiving use case: one job in, the file in S3 verified against Meta's sha256 (or a
//! recorded failure with its reason, or "retry later") out.
//!
//! Memory stays bounded whatever the file size: small files (declared size up to one part) are
//! buffered and sent in one PutObject that S3 itself checks against the expected digest; larger or
//! unsized ones stream through a multipart upload with a bounded number of parts in flight, aborted
//! on any error and completed only once the whole-file digest matches. An object is therefore only
//! ever visible under its final key complete and verified against the digest Meta declared; a
//! file Meta declared no (decodable) digest for is archived all the same, marked
//! `media_verified = false` and counted (`MediaUnverified`), rather than retried until lost.
//!
//! A job may be given a deadline (the invocation's): every step stops at it, and a multipart
//! upload cut off there has its part uploads cancelled and finished, then the upload aborted,
//! before the archiver returns; nothing of the job keeps running after it.

use crate::clock::Clock;
use crate::error::PortError;
use crate::graph::{GraphError, GraphErrorKind};
use crate::media::MediaJob;
use crate::media::{decode_sha256, media_key, MAX_MEDIA_BYTES};
use crate::media::{
    ArchivedMedia, MediaRecordState, MediaRecords, MediaStore, MediaUpdate, ObjectMeta, PartStream,
    PutResult, UploadedPart,
};
use crate::media::{Download, GraphMedia, MediaInfo};
use crate::metrics::Metrics;
use crate::records::MediaStatus;
use crate::secrets::{MetaSecret, SecretCache, SecretError};
use bytes::{Bytes, BytesMut};
use futures::stream::StreamExt;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Part size of multipart uploads (S3's minimum is 5 MiB); also the single-PutObject limit.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading at once. Streamed parts cost a few chunks each; buffered parts (size not
/// declared) cost `PART_SIZE` each, plus the one being filled.
pub const PARTS_IN_FLIGHT: usize = 2;
/// Download chunks queued per streamed part before the download waits for the upload.
const CHUNKS_BUFFERED_PER_PART: usize = 4;

/// What became of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveOutcome {
    /// The file is in S3 and the record says so. `uploaded` is false when the object was
    /// already there (a rerun after a crash, or a concurrent fetcher): the conditional write kept the first.
    Archived {
        key: String,
        bytes: u64,
        sha256_hex: String,
        uploaded: bool,
    },
    /// The record was already `archived`: nothing downloaded.
    AlreadyArchived,
    /// No record (erased or expired): nothing to archive; the job is dropped.
    RecordGone,
    /// A permanent failure, recorded as `media_status = failed` with this reason.
    Failed { reason: String },
}

/// A transient failure: the job should be retried later (SQS redelivery).
#[derive(Debug, thiserror::Error)]
#[error("retry later: {reason}")]
pub struct RetryLater {
    pub reason: String,
    /// The job was cut off at its deadline (nothing of it is still running).
    pub cut_off: bool,
}

impl RetryLater {
    pub fn because(reason: impl Into<String>) -> Self {
        RetryLater {
            reason: reason.into(),
            cut_off: false,
        }
    }
}

impl From<PortError> for RetryLater {
    fn from(error: PortError) -> Self {
        RetryLater::because(error.to_string())
    }
}

impl From<SecretError> for RetryLater {
    fn from(error: SecretError) -> Self {
        RetryLater::because(error.to_string())
    }
}

/// The job's deadline passed.
#[derive(Debug, Clone, Copy)]
struct OutOfTime;

impl From<OutOfTime> for RetryLater {
    fn from(_: OutOfTime) -> Self {
        RetryLater {
            reason: "the invocation's time ran out".to_owned(),
            cut_off: true,
        }
    }
}

impl From<OutOfTime> for AttemptError {
    fn from(_: OutOfTime) -> Self {
        AttemptError::OutOfTime
    }
}

/// Runs `step` until `deadline` (unbounded without one); a step cut off is dropped, so only steps
/// that leave nothing behind when dropped go through here (multipart parts do not: see
/// `store_multipart`).
async fn within<T>(
    deadline: Option<Instant>,
    step: impl Future<Output = T>,
) -> Result<T, OutOfTime> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, step)
            .await
            .map_err(|_| OutOfTime),
        None => Ok(step.await),
    }
}

/// Why one download-and-store attempt failed.
#[derive(Debug)]
enum AttemptError {
    Graph(GraphError),
    Store(PortError),
    Sha256Mismatch,
    TooLarge,
    /// Fewer bytes than declared arrived (a cut connection).
    Truncated,
    /// The job's deadline passed (whatever was started is cancelled and cleaned up).
    OutOfTime,
}

/// The archiver's dependencies; built once per Lambda instance.
pub struct Archiver {
    pub graph: Arc<dyn GraphMedia>,
    pub store: Arc<dyn MediaStore>,
    pub records: Arc<dyn MediaRecords>,
    pub meta_secret: Arc<SecretCache<MetaSecret>>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
}

/// A file in S3: its digest, size, whether this attempt wrote it, and whether the digest matched
/// one Meta declared.
#[derive(Debug)]
struct Stored {
    sha256_hex: String,
    bytes: u64,
    created: bool,
    verified: bool,
}

/// The part uploads of one multipart upload, each its own task. Owned by `store_multipart`, so
/// whatever happens to the parts (an error, the deadline) it can cancel and wait for every one
/// of them before it aborts the upload.
type PartTasks = JoinSet<Result<UploadedPart, PortError>>;

impl Archiver {
    /// Archives one job. `Ok` means the job is done (archived, or recorded as failed);
    /// `Err(RetryLater)` means leave it on the queue. With a `deadline`, the job stops there
    /// (`RetryLater` with `cut_off`), and nothing of it is left running or open.
    pub async fn archive(
        &self,
        job: &MediaJob,
        deadline: Option<Instant>,
    ) -> Result<ArchiveOutcome, RetryLater> {
        match within(
            deadline,
            self.records
                .media_status(&job.record, self.clock.now_epoch_seconds()),
        )
        .await??
        {
            MediaRecordState::Gone => return Ok(ArchiveOutcome::RecordGone),
            MediaRecordState::Live(Some(MediaStatus::Archived)) => {
                return Ok(ArchiveOutcome::AlreadyArchived)
            }
            MediaRecordState::Live(_) => {}
        }
        // No existence check before the download: on AWS a HEAD of a missing key needs s3:ListBucket (403
        // without it), which the fetcher's role does not get. The record says whether the work is done, and the
        // conditional writes (If-None-Match) make a rerun after a crash between upload and record harmless: the
        // file is downloaded and verified again, the write finds the object there, and the record is completed.
        let key = media_key(job, None);

        let mut secret = within(deadline, self.meta_secret.get()).await??;
        let mut token_refreshed = false;
        let mut url_refreshed = false;
        let mut mismatches = 0;
        loop {
            let info = within(
                deadline,
                self.graph.media_info(
                    &secret.access_token,
                    &job.media_id,
                    job.phone_number_id.as_deref(),
                ),
            )
            .await;
            let attempt = match info {
                Ok(Ok(info)) => {
                    self.download_and_store(job, &key, &secret.access_token, &info, deadline)
                        .await
                }
                Ok(Err(error)) => Err(AttemptError::Graph(error)),
                Err(out_of_time) => Err(out_of_time.into()),
            };
            let error = match attempt {
                Ok(stored) => {
                    return within(deadline, self.record_archived(job, key, stored)).await?
                }
                Err(error) => error,
            };
            match error {
                AttemptError::Graph(e)
                    if e.kind == GraphErrorKind::TokenInvalid && !token_refreshed =>
                {
                    // Rotated or revoked: read the secret again, once, and retry now.
                    token_refreshed = true;
                    self.metrics.count("MediaTokenRefreshed", 1);
                    secret = within(deadline, self.meta_secret.refresh()).await??;
                }
                AttemptError::Graph(e)
                    if e.kind == GraphErrorKind::UrlExpired && !url_refreshed =>
                {
                    url_refreshed = true;
                }
                AttemptError::Sha256Mismatch if mismatches == 0 => {
                    // Once more from a fresh URL: a corrupted transfer should not cost the file.
                    mismatches += 1;
                }
                AttemptError::Sha256Mismatch => {
                    return within(
                        deadline,
                        self.record_failed(job, "sha256 mismatch after a second download"),
                    )
                    .await?
                }
                AttemptError::TooLarge => {
                    return within(
                        deadline,
                        self.record_failed(job, "larger than declared or than 100 MiB"),
                    )
                    .await?
                }
                AttemptError::Graph(e) => match e.kind {
                    GraphErrorKind::Permanent | GraphErrorKind::Permission => {
                        if e.kind == GraphErrorKind::Permission {
                            self.metrics.count("GraphPermissionDenied", 1);
                        }
                        return within(deadline, self.record_failed(job, &e.short())).await?;
                    }
                    _ => return Err(RetryLater::because(e.short())),
                },
                AttemptError::Truncated => {
                    return Err(RetryLater::because(
                        "download ended before the declared size",
                    ))
                }
                AttemptError::OutOfTime => return Err(OutOfTime.into()),
                AttemptError::Store(e) => return Err(e.into()),
            }
        }
    }

    /// A retried job's next delivery is expected `delay_seconds` from now (its backoff): the
    /// media sweep leaves it alone until then. One conditional write; a failure is only logged
    /// (the sweep may then enqueue one copy more, which archives nothing twice).
    pub async fn expect_retry(&self, job: &MediaJob, delay_seconds: i64) {
        let at = self.clock.now_epoch_seconds().saturating_add(delay_seconds);
        if let Err(error) = self.records.expect_attempt(&job.record, at).await {
            tracing::warn!(event = "media_retry_unrecorded", record = %job.record_log_id(), error = %error);
        }
    }

    async fn record_archived(
        &self,
        job: &MediaJob,
        key: String,
        stored: Stored,
    ) -> Result<ArchiveOutcome, RetryLater> {
        let Stored {
            sha256_hex,
            bytes,
            created: uploaded,
            verified,
        } = stored;
        let archived = ArchivedMedia {
            key: key.clone(),
            sha256_hex: sha256_hex.clone(),
            bytes,
            archived_at: self.clock.now_epoch_seconds(),
            verified,
        };
        match self.records.mark_archived(&job.record, &archived).await? {
            MediaUpdate::RecordGone => {
                // Erased or expired while we downloaded: the archive must not outlive the record.
                self.store.delete(&key).await?;
                Ok(ArchiveOutcome::RecordGone)
            }
            update @ (MediaUpdate::Updated | MediaUpdate::Unchanged) => {
                if update == MediaUpdate::Updated && !verified {
                    self.metrics.count("MediaUnverified", 1);
                    tracing::warn!(event = "media_unverified", record = %job.record_log_id());
                }
                if uploaded {
                    self.metrics.count("MediaArchived", 1);
                    self.metrics.count("MediaBytesArchived", bytes);
                }
                Ok(ArchiveOutcome::Archived {
                    key,
                    bytes,
                    sha256_hex,
                    uploaded,
                })
            }
        }
    }

    async fn record_failed(
        &self,
        job: &MediaJob,
        reason: &str,
    ) -> Result<ArchiveOutcome, RetryLater> {
        self.records
            .mark_failed(&job.record, reason, self.clock.now_epoch_seconds(), false)
            .await?;
        self.metrics.count("MediaFailed", 1);
        Ok(ArchiveOutcome::Failed {
            reason: reason.to_owned(),
        })
    }

    /// Downloads, verifies and writes the file under `key` (conditionally: an object already there is kept).
    async fn download_and_store(
        &self,
        job: &MediaJob,
        key: &str,
        token: &str,
        info: &MediaInfo,
        deadline: Option<Instant>,
    ) -> Result<Stored, AttemptError> {
        // Graph's media info first (read just now, for this very file), the webhook's otherwise;
        // one that does not decode counts as none.
        let expected = info
            .sha256
            .as_deref()
            .and_then(decode_sha256)
            .or_else(|| job.sha256.as_deref().and_then(decode_sha256));
        if info.file_size.is_some_and(|size| size > MAX_MEDIA_BYTES) {
            return Err(AttemptError::TooLarge);
        }
        let download = within(deadline, self.graph.download(token, &info.url))
            .await?
            .map_err(AttemptError::Graph)?;
        let meta = ObjectMeta {
            record: job.record.clone(),
            mime_type: info.mime_type.clone().or_else(|| job.mime_type.clone()),
            sha256_hex: String::new(),
        };
        // Without `file_size` the Content-Length is all there is, and it holds the cap too: a
        // declared size is where the streamed path stops reading.
        let declared = info.file_size.or(download.content_length);
        if declared.is_some_and(|size| size > MAX_MEDIA_BYTES) {
            return Err(AttemptError::TooLarge);
        }
        match declared {
            Some(size) if size <= PART_SIZE as u64 => {
                within(
                    deadline,
                    self.store_small(key, meta, download, expected, size),
                )
                .await?
            }
            _ => {
                self.store_multipart(key, meta, download, expected, declared, deadline)
                    .await
            }
        }
    }

    /// Buffers a small file (at most one part), checks it, then one conditional PutObject.
    /// Without a declared digest the file's own goes with the PutObject (S3 checks the bytes
    /// arrived as read) and into the metadata: true, though not confirmed by Meta.
    async fn store_small(
        &self,
        key: &str,
        mut meta: ObjectMeta,
        mut download: Download,
        expected: Option<[u8; 32]>,
        declared: u64,
    ) -> Result<Stored, AttemptError> {
        let mut buffer = BytesMut::with_capacity(declared as usize);
        while let Some(chunk) = download.body.next().await {
            let chunk = chunk.map_err(AttemptError::Graph)?;
            if (buffer.len() + chunk.len()) as u64 > declared {
                return Err(AttemptError::TooLarge);
            }
            buffer.extend_from_slice(&chunk);
        }
        if (buffer.len() as u64) < declared {
            return Err(AttemptError::Truncated);
        }
        let digest: [u8; 32] = Sha256::digest(&buffer).into();
        if expected.is_some_and(|e| e != digest) {
            return Err(AttemptError::Sha256Mismatch);
        }
        meta.sha256_hex = hex::encode(digest);
        let bytes = buffer.len() as u64;
        let put = self
            .store
            .put_whole(key, buffer.freeze(), digest, &meta)
            .await
            .map_err(AttemptError::Store)?;
        Ok(Stored {
            sha256_hex: meta.sha256_hex,
            bytes,
            created: put == PutResult::Created,
            verified: expected.is_some(),
        })
    }

    /// Streams through a multipart upload; on any error, and at the deadline, cancels the part
    /// uploads, waits until every one has ended, then aborts the upload (so no part lands after
    /// the abort and leaves a billed, invisible upload behind).
    ///
    /// The object's metadata, `sha256` included, is set when the upload is created: S3 has no way
    /// to change it afterwards but a copy, and a copy would leave a moment where the final key
    /// holds the object without its `sha256`. The digest written is the declared one (Graph's
    /// media info, read before the download, else the webhook's), and the upload is completed
    /// only when the bytes match it, so the metadata is true from the moment the object exists.
    /// Without a declared digest nothing true can be written at creation: the object gets no
    /// `sha256` metadata, the digest computed while the parts streamed goes into the record
    /// (`media_sha256`, with `media_verified = false`). Buffering the file to learn its digest
    /// first would cost up to 100 MiB of memory; retrying (as before) lost the file.
    async fn store_multipart(
        &self,
        key: &str,
        mut meta: ObjectMeta,
        download: Download,
        expected: Option<[u8; 32]>,
        declared: Option<u64>,
        deadline: Option<Instant>,
    ) -> Result<Stored, AttemptError> {
        meta.sha256_hex = expected.map(hex::encode).unwrap_or_default();
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Err(AttemptError::OutOfTime);
        }
        // Not cut off midway: an upload created but not known here could not be aborted.
        let upload_id = self
            .store
            .begin_multipart(key, &meta)
            .await
            .map_err(AttemptError::Store)?;
        let mut parts = PartTasks::new();
        let uploaded = async {
            let (done, digest, bytes) = match declared {
                Some(size) => {
                    self.stream_parts(key, &upload_id, download, size, &mut parts)
                        .await?
                }
                None => {
                    self.upload_buffered_parts(key, &upload_id, download, &mut parts)
                        .await?
                }
            };
            if expected.is_some_and(|e| e != digest) {
                return Err(AttemptError::Sha256Mismatch);
            }
            let put = self
                .store
                .complete_multipart(key, &upload_id, done)
                .await
                .map_err(AttemptError::Store)?;
            Ok(Stored {
                sha256_hex: hex::encode(digest),
                bytes,
                created: put == PutResult::Created,
                verified: expected.is_some(),
            })
        };
        let result = match within(deadline, uploaded).await {
            Ok(result) => result,
            Err(out_of_time) => Err(out_of_time.into()),
        };
        if result.is_err() {
            // Cancels every part still uploading and waits for each task to end.
            parts.shutdown().await;
            self.abort(key, &upload_id).await;
        }
        result
    }

    async fn abort(&self, key: &str, upload_id: &str) {
        if let Err(error) = self.store.abort_multipart(key, upload_id).await {
            // The bucket's lifecycle rule aborts incomplete uploads after a day; note it.
            tracing::warn!(event = "multipart_abort_failed", error = %error);
        }
    }

    /// Streams every part from the download into its UploadPart while the bytes arrive, so
    /// memory holds a few chunks per part whatever the part size. Needs the size up front (Meta
    /// declares `file_size`): each part's length is announced when its upload starts. On error
    /// the part tasks are left in `parts` for the caller to cancel.
    async fn stream_parts(
        &self,
        key: &str,
        upload_id: &str,
        mut download: Download,
        declared: u64,
        parts: &mut PartTasks,
    ) -> Result<(Vec<UploadedPart>, [u8; 32], u64), AttemptError> {
        let mut done: Vec<UploadedPart> = Vec::new();
        let hasher = self
            .feed_parts(key, upload_id, &mut download, declared, parts, &mut done)
            .await?;
        while let Some(joined) = parts.join_next().await {
            done.push(joined_part(joined)?);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        done.sort_by_key(|p| p.part_number);
        Ok((done, digest, declared))
    }

    /// Reads the download and hands each part's share to its own upload task; returns the
    /// whole-file hasher once exactly `declared` bytes went through and nothing followed.
    async fn feed_parts(
        &self,
        key: &str,
        upload_id: &str,
        download: &mut Download,
        declared: u64,
        parts: &mut PartTasks,
        done: &mut Vec<UploadedPart>,
    ) -> Result<Sha256, AttemptError> {
        let mut hasher = Sha256::new();
        let mut carry = Bytes::new();
        let mut offset: u64 = 0;
        let mut part_number: i32 = 0;
        while offset < declared {
            // Bounded parts in flight: the one being fed plus those awaiting S3's answer.
            while parts.len() >= PARTS_IN_FLIGHT {
                if let Some(joined) = parts.join_next().await {
                    done.push(joined_part(joined)?);
                }
            }
            let length = (declared - offset).min(PART_SIZE as u64);
            part_number += 1;
            let (sender, chunks) = tokio::sync::mpsc::channel(CHUNKS_BUFFERED_PER_PART);
            let (store, task_key, task_upload_id) =
                (self.store.clone(), key.to_owned(), upload_id.to_owned());
            let number = part_number;
            parts.spawn(async move {
                store
                    .upload_part_stream(
                        &task_key,
                        &task_upload_id,
                        number,
                        PartStream { length, chunks },
                    )
                    .await
            });
            let mut sent: u64 = 0;
            while sent < length {
                let mut chunk = if carry.is_empty() {
                    match download.body.next().await {
                        Some(chunk) => {
                            let chunk = chunk.map_err(AttemptError::Graph)?;
                            hasher.update(&chunk);
                            chunk
                        }
                        // Dropping the sender fails the part: it announced more bytes.
                        None => return Err(AttemptError::Truncated),
                    }
                } else {
                    std::mem::take(&mut carry)
                };
                let take = (length - sent).min(chunk.len() as u64) as usize;
                let piece = chunk.split_to(take);
                carry = chunk;
                sent += take as u64;
                if sender.send(piece).await.is_err() {
                    // The part's upload already failed; its task reports why.
                    return Err(part_error(parts).await);
                }
            }
            offset += length;
        }
        if !carry.is_empty() {
            return Err(AttemptError::TooLarge);
        }
        while let Some(chunk) = download.body.next().await {
            if !chunk.map_err(AttemptError::Graph)?.is_empty() {
                return Err(AttemptError::TooLarge);
            }
        }
        Ok(hasher)
    }

    /// Size unknown (no `file_size`, chunked download): parts are buffered, since a part's
    /// length must be known when its upload starts. Stops at [`MAX_MEDIA_BYTES`]. On error the
    /// part tasks are left in `parts` for the caller to cancel.
    async fn upload_buffered_parts(
        &self,
        key: &str,
        upload_id: &str,
        mut download: Download,
        parts: &mut PartTasks,
    ) -> Result<(Vec<UploadedPart>, [u8; 32], u64), AttemptError> {
        let cap = MAX_MEDIA_BYTES;
        let mut hasher = Sha256::new();
        let mut received: u64 = 0;
        // One exactly-sized buffer per part (no growth, no shared tails): memory is the parts in
        // flight plus the one being filled, whatever the file size.
        let mut part: Vec<u8> = Vec::with_capacity(PART_SIZE);
        let mut part_number = 0;
        let mut done: Vec<UploadedPart> = Vec::new();

        let mut finished = false;
        while !finished {
            let mut chunk = match download.body.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(AttemptError::Graph)?;
                    received += chunk.len() as u64;
                    if received > cap {
                        return Err(AttemptError::TooLarge);
                    }
                    hasher.update(&chunk);
                    chunk
                }
                None => {
                    finished = true;
                    Bytes::new()
                }
            };
            loop {
                let take = (PART_SIZE - part.len()).min(chunk.len());
                part.extend_from_slice(&chunk.split_to(take));
                if part.len() == PART_SIZE || (finished && !part.is_empty()) {
                    let next = if finished { 0 } else { PART_SIZE };
                    let body = Bytes::from(std::mem::replace(&mut part, Vec::with_capacity(next)));
                    part_number += 1;
                    // Uploads run as tasks so they progress while the download is read.
                    while parts.len() >= PARTS_IN_FLIGHT {
                        if let Some(joined) = parts.join_next().await {
                            done.push(joined_part(joined)?);
                        }
                    }
                    let (store, key, upload_id) =
                        (self.store.clone(), key.to_owned(), upload_id.to_owned());
                    parts.spawn(async move {
                        store.upload_part(&key, &upload_id, part_number, body).await
                    });
                }
                if chunk.is_empty() {
                    break;
                }
            }
        }
        while let Some(joined) = parts.join_next().await {
            done.push(joined_part(joined)?);
        }
        if received == 0 {
            return Err(AttemptError::Truncated);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        done.sort_by_key(|p| p.part_number);
        Ok((done, digest, received))
    }
}

/// The first failure among the part tasks (one of them stopped reading its bytes).
async fn part_error(parts: &mut PartTasks) -> AttemptError {
    while let Some(joined) = parts.join_next().await {
        if let Err(error) = joined_part(joined) {
            return error;
        }
    }
    AttemptError::Store(PortError::failed("s3", "a part upload stopped reading"))
}

/// A finished part-upload task: its part, or why it failed (a panicked or cancelled task counts
/// as a store failure; the upload is then aborted).
fn joined_part(
    joined: Result<Result<UploadedPart, PortError>, tokio::task::JoinError>,
) -> Result<UploadedPart, AttemptError> {
    match joined {
        Ok(result) => result.map_err(AttemptError::Store),
        Err(_) => Err(AttemptError::Store(PortError::failed(
            "s3",
            "part upload task failed",
        ))),
    }
}

#[cfg(test)]
#[path = "tests/archiver.rs"]
mod tests;
