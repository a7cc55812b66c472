//! The media ports in memory: a scripted Graph, a store that records the order of its calls (and
//! can fail or hang a part), media records with their pending index, a queue backlog, and an
//! [`Archiver`] wired to them.

use crate::clock::{Clock, FixedClock};
use crate::error::PortError;
use crate::graph::GraphError;
use crate::media::{
    ArchivedMedia, Archiver, Download, GraphMedia, MediaInfo, MediaJob, MediaRecordState,
    MediaRecords, MediaStore, MediaUpdate, ObjectMeta, PartStream, PendingIndex, PendingMedia,
    PutResult, QueueBacklog, UploadedPart,
};
use crate::records::MediaStatus;
use crate::secrets::{parse_meta_secret, SecretCache};
use crate::testkit::memory::{MemoryMetrics, MemorySecrets};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn poisoned(service: &'static str) -> PortError {
    PortError::unavailable(service, "test double lock poisoned")
}

/// One media file as the scripted Graph serves it.
#[derive(Debug, Clone)]
pub struct ScriptedMedia {
    pub body: Bytes,
    /// What media info declares (`None`: omitted).
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
    /// The download's Content-Length (`None`: chunked).
    pub content_length: Option<u64>,
    /// After this many bytes the download stalls for ever (a connection that stops sending).
    pub stall_after: Option<usize>,
}

impl ScriptedMedia {
    /// A file with its true digest (hex) and size declared, and a Content-Length.
    pub fn honest(body: Vec<u8>) -> Self {
        use sha2::Digest;
        let len = body.len() as u64;
        Self {
            sha256: Some(hex::encode(sha2::Sha256::digest(&body))),
            file_size: Some(len),
            content_length: Some(len),
            stall_after: None,
            body: body.into(),
        }
    }
}

/// Graph media by id; downloads come in 1 MiB chunks.
#[derive(Default)]
pub struct ScriptedGraph {
    pub media: Mutex<BTreeMap<String, ScriptedMedia>>,
}

impl ScriptedGraph {
    pub fn add(&self, media_id: &str, media: ScriptedMedia) {
        if let Ok(mut all) = self.media.lock() {
            all.insert(media_id.to_owned(), media);
        }
    }
}

#[async_trait]
impl GraphMedia for ScriptedGraph {
    async fn media_info(
        &self,
        _token: &str,
        media_id: &str,
        _phone_number_id: Option<&str>,
    ) -> Result<MediaInfo, GraphError> {
        let all = self
            .media
            .lock()
            .map_err(|_| GraphError::transient("lock"))?;
        let media = all
            .get(media_id)
            .ok_or_else(|| GraphError::transient("unknown media id"))?;
        Ok(MediaInfo {
            url: format!("https://lookaside.fbsbx.com/{media_id}"),
            mime_type: Some("video/mp4".to_owned()),
            sha256: media.sha256.clone(),
            file_size: media.file_size,
        })
    }

    async fn download(&self, _token: &str, url: &str) -> Result<Download, GraphError> {
        let media_id = url.rsplit('/').next().unwrap_or_default();
        let media = self
            .media
            .lock()
            .map_err(|_| GraphError::transient("lock"))?
            .get(media_id)
            .cloned()
            .ok_or_else(|| GraphError::transient("unknown url"))?;
        let end = media.stall_after.unwrap_or(media.body.len());
        let chunks: Vec<Result<Bytes, GraphError>> = media
            .body
            .slice(..end)
            .chunks(1024 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body = futures::stream::iter(chunks);
        let body = if media.stall_after.is_some() {
            futures::StreamExt::boxed(futures::StreamExt::chain(body, futures::stream::pending()))
        } else {
            futures::StreamExt::boxed(body)
        };
        Ok(Download {
            content_length: media.content_length,
            body,
        })
    }
}

/// How a part upload of the [`RecordingStore`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartFault {
    /// Fails at once.
    Fail,
    /// Takes its bytes, then never answers (until cancelled).
    Hang,
}

/// A media store that writes nothing and records every call in order (`begin`, `part N
/// started`, `part N done` / `failed` / `cancelled`, `complete`, `abort`, `put`).
#[derive(Default)]
pub struct RecordingStore {
    pub events: Mutex<Vec<String>>,
    pub faults: Mutex<BTreeMap<i32, PartFault>>,
    /// The metadata of every object begun or put.
    pub metadata: Mutex<Vec<ObjectMeta>>,
}

impl RecordingStore {
    pub fn events(&self) -> Vec<String> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    pub fn fault(&self, part_number: i32, fault: PartFault) {
        if let Ok(mut faults) = self.faults.lock() {
            faults.insert(part_number, fault);
        }
    }

    fn log(&self, event: String) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    async fn part(&self, part_number: i32, mut body: PartBody) -> Result<UploadedPart, PortError> {
        self.log(format!("part {part_number} started"));
        let fault = self
            .faults
            .lock()
            .map_err(|_| poisoned("s3"))?
            .get(&part_number)
            .copied();
        /// Records a cancellation: the part's future dropped before it answered.
        struct Cancelled<'a>(&'a RecordingStore, i32, bool);
        impl Drop for Cancelled<'_> {
            fn drop(&mut self) {
                if !self.2 {
                    self.0.log(format!("part {} cancelled", self.1));
                }
            }
        }
        let mut guard = Cancelled(self, part_number, false);
        match fault {
            Some(PartFault::Fail) => {
                guard.2 = true;
                self.log(format!("part {part_number} failed"));
                return Err(PortError::failed("s3", "injected part failure"));
            }
            Some(PartFault::Hang) => {
                body.drain().await;
                std::future::pending::<()>().await;
            }
            None => body.drain().await,
        }
        guard.2 = true;
        self.log(format!("part {part_number} done"));
        Ok(UploadedPart {
            part_number,
            etag: format!("etag-{part_number}"),
            checksum_sha256: None,
        })
    }
}

enum PartBody {
    Whole,
    Stream(PartStream),
}

impl PartBody {
    async fn drain(&mut self) {
        if let PartBody::Stream(part) = self {
            while part.chunks.recv().await.is_some() {}
        }
    }
}

#[async_trait]
impl MediaStore for RecordingStore {
    async fn put_whole(
        &self,
        _key: &str,
        _body: Bytes,
        _sha256: [u8; 32],
        meta: &ObjectMeta,
    ) -> Result<PutResult, PortError> {
        self.metadata
            .lock()
            .map_err(|_| poisoned("s3"))?
            .push(meta.clone());
        self.log("put".to_owned());
        Ok(PutResult::Created)
    }

    async fn begin_multipart(&self, _key: &str, meta: &ObjectMeta) -> Result<String, PortError> {
        self.metadata
            .lock()
            .map_err(|_| poisoned("s3"))?
            .push(meta.clone());
        self.log("begin".to_owned());
        Ok("upload-1".to_owned())
    }

    async fn upload_part(
        &self,
        _key: &str,
        _upload_id: &str,
        part_number: i32,
        _body: Bytes,
    ) -> Result<UploadedPart, PortError> {
        self.part(part_number, PartBody::Whole).await
    }

    async fn upload_part_stream(
        &self,
        _key: &str,
        _upload_id: &str,
        part_number: i32,
        part: PartStream,
    ) -> Result<UploadedPart, PortError> {
        self.part(part_number, PartBody::Stream(part)).await
    }

    async fn complete_multipart(
        &self,
        _key: &str,
        _upload_id: &str,
        _parts: Vec<UploadedPart>,
    ) -> Result<PutResult, PortError> {
        self.log("complete".to_owned());
        Ok(PutResult::Created)
    }

    async fn abort_multipart(&self, _key: &str, _upload_id: &str) -> Result<(), PortError> {
        self.log("abort".to_owned());
        Ok(())
    }

    async fn delete(&self, _key: &str) -> Result<(), PortError> {
        self.log("delete".to_owned());
        Ok(())
    }
}

/// One media record as [`MemoryMediaRecords`] holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRecord {
    pub job: MediaJob,
    pub status: MediaStatus,
    pub deadline: i64,
    pub expires_at: i64,
    /// The `media-pending` index partition (`None`: out of the index).
    pub shard: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub archived: Option<ArchivedMedia>,
    pub error: Option<String>,
}

/// Media records by record key, with the `media-pending` index over them, behaving as the
/// DynamoDB adapter's conditional writes do.
#[derive(Default)]
pub struct MemoryMediaRecords {
    pub records: Mutex<BTreeMap<String, MediaRecord>>,
    /// Every call of the retry path ([`MediaRecords::expect_attempt`]): record and time.
    pub expected_attempts: Mutex<Vec<(String, i64)>>,
}

impl MemoryMediaRecords {
    /// A pending record for `job`, with the media deadline 7 days after its receipt.
    pub fn insert_pending(&self, job: &MediaJob) {
        let deadline = crate::media::media_deadline(
            job.received_at,
            crate::media::DEFAULT_MEDIA_DEADLINE_DAYS,
        );
        if let Ok(mut records) = self.records.lock() {
            records.insert(
                job.record.clone(),
                MediaRecord {
                    job: job.clone(),
                    status: MediaStatus::Pending,
                    deadline,
                    expires_at: job.received_at + 30 * 86_400,
                    shard: Some(crate::media::pending_shard(&job.record)),
                    next_attempt_at: None,
                    archived: None,
                    error: None,
                },
            );
        }
    }

    pub fn get(&self, record: &str) -> Option<MediaRecord> {
        self.records.lock().ok()?.get(record).cloned()
    }

    fn update(
        &self,
        record: &str,
        change: impl FnOnce(&mut MediaRecord) -> bool,
    ) -> Result<MediaUpdate, PortError> {
        let mut records = self.records.lock().map_err(|_| poisoned("dynamodb"))?;
        Ok(match records.get_mut(record) {
            None => MediaUpdate::RecordGone,
            Some(item) => {
                if change(item) {
                    MediaUpdate::Updated
                } else {
                    MediaUpdate::Unchanged
                }
            }
        })
    }
}

#[async_trait]
impl MediaRecords for MemoryMediaRecords {
    async fn media_status(&self, record: &str, now: i64) -> Result<MediaRecordState, PortError> {
        let records = self.records.lock().map_err(|_| poisoned("dynamodb"))?;
        Ok(match records.get(record) {
            Some(item) if item.expires_at > now => MediaRecordState::Live(Some(item.status)),
            _ => MediaRecordState::Gone,
        })
    }

    async fn mark_archived(
        &self,
        record: &str,
        archived: &ArchivedMedia,
    ) -> Result<MediaUpdate, PortError> {
        let update = self.update(record, |item| {
            item.status = MediaStatus::Archived;
            item.shard = (!archived.verified).then(|| {
                format!(
                    "{}{}",
                    crate::media::UNVERIFIED_SHARD_PREFIX,
                    crate::media::pending_shard(record)
                )
            });
            item.next_attempt_at = None;
            item.archived = Some(archived.clone());
            true
        })?;
        Ok(update)
    }

    async fn mark_pending_again(
        &self,
        record: &str,
        shard: &str,
        at: i64,
    ) -> Result<MediaUpdate, PortError> {
        self.update(record, |item| {
            let dead = item.status == MediaStatus::Failed
                && item
                    .shard
                    .as_deref()
                    .is_some_and(|s| s.starts_with(crate::media::DEAD_LETTERED_SHARD_PREFIX));
            if dead {
                item.status = MediaStatus::Pending;
                item.shard = Some(shard.to_owned());
                item.next_attempt_at = Some(at);
                item.error = None;
            }
            dead
        })
    }

    async fn expect_attempt(
        &self,
        record: &str,
        next_attempt_at: i64,
    ) -> Result<MediaUpdate, PortError> {
        self.expected_attempts
            .lock()
            .map_err(|_| poisoned("dynamodb"))?
            .push((record.to_owned(), next_attempt_at));
        self.update(record, |item| {
            let pending = item.status == MediaStatus::Pending;
            if pending {
                item.next_attempt_at = Some(next_attempt_at);
            }
            pending
        })
    }

    async fn claim_reenqueue(
        &self,
        record: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<MediaUpdate, PortError> {
        self.update(record, |item| {
            let expected = item.next_attempt_at.unwrap_or(item.job.received_at);
            let stale = item.status == MediaStatus::Pending
                && item.expires_at > now
                && expected <= stale_before;
            if stale {
                item.next_attempt_at = Some(now);
            }
            stale
        })
    }

    async fn mark_failed(
        &self,
        record: &str,
        reason: &str,
        _at: i64,
        dead_lettered: bool,
    ) -> Result<MediaUpdate, PortError> {
        self.update(record, |item| {
            let pending = item.status == MediaStatus::Pending;
            if pending {
                item.status = MediaStatus::Failed;
                item.error = Some(reason.to_owned());
                item.shard = dead_lettered.then(|| {
                    format!(
                        "{}{}",
                        crate::media::DEAD_LETTERED_SHARD_PREFIX,
                        crate::media::pending_shard(record)
                    )
                });
            }
            pending
        })
    }
}

#[async_trait]
impl PendingIndex for MemoryMediaRecords {
    async fn pending(&self, shard: &str) -> Result<Vec<PendingMedia>, PortError> {
        let records = self.records.lock().map_err(|_| poisoned("dynamodb"))?;
        Ok(records
            .values()
            .filter(|item| item.shard.as_deref() == Some(shard))
            .map(|item| PendingMedia {
                job: item.job.clone(),
                deadline: item.deadline,
            })
            .collect())
    }

    async fn count(&self, shard: &str) -> Result<u64, PortError> {
        Ok(self.pending(shard).await?.len() as u64)
    }
}

/// The queue's visible backlog, as set by the test.
#[derive(Default)]
pub struct Backlog(pub AtomicU64);

impl Backlog {
    pub fn set(&self, visible: u64) {
        self.0.store(visible, Ordering::SeqCst);
    }
}

#[async_trait]
impl QueueBacklog for Backlog {
    async fn visible_jobs(&self) -> Result<u64, PortError> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

/// An archiver over the in-memory media ports, and the doubles to look at.
pub struct MemoryArchiver {
    pub archiver: Archiver,
    pub graph: Arc<ScriptedGraph>,
    pub store: Arc<RecordingStore>,
    pub records: Arc<MemoryMediaRecords>,
    pub clock: Arc<FixedClock>,
    pub metrics: Arc<MemoryMetrics>,
}

impl MemoryArchiver {
    pub const NOW: i64 = 1_795_305_600;

    pub fn new() -> Self {
        let graph = Arc::new(ScriptedGraph::default());
        let store = Arc::new(RecordingStore::default());
        let records = Arc::new(MemoryMediaRecords::default());
        let clock = Arc::new(FixedClock::at(Self::NOW));
        let metrics = Arc::new(MemoryMetrics::default());
        let secrets = Arc::new(MemorySecrets::default());
        secrets.set(
            "meta",
            r#"{"access_token":"EAAG-test","app_secret":"s","verify_token":"v"}"#,
        );
        let archiver = Archiver {
            graph: graph.clone(),
            store: store.clone(),
            records: records.clone(),
            meta_secret: Arc::new(SecretCache::new(
                secrets,
                clock.clone() as Arc<dyn Clock>,
                "meta",
                crate::secrets::DEFAULT_SECRET_TTL_SECONDS,
                parse_meta_secret,
            )),
            clock: clock.clone(),
            metrics: metrics.clone(),
        };
        Self {
            archiver,
            graph,
            store,
            records,
            clock,
            metrics,
        }
    }

    /// A pending job for `media_id` (its record inserted), received a minute ago.
    pub fn job(&self, media_id: &str) -> MediaJob {
        let job = MediaJob {
            record: crate::records::body_sha256_hex(media_id.as_bytes())[..32].to_owned(),
            media_id: media_id.to_owned(),
            media_kind: "video".to_owned(),
            mime_type: Some("video/mp4".to_owned()),
            sha256: None,
            phone_number_id: Some("1234567890".to_owned()),
            received_at: Self::NOW - 60,
        };
        self.records.insert_pending(&job);
        job
    }
}

impl Default for MemoryArchiver {
    fn default() -> Self {
        Self::new()
    }
}
