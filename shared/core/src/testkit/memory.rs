//! In-memory implementations of the ports, for unit tests of the domain and for benchmarks.
//! They never replace the integration tests against the emulated AWS services.

use crate::archive::ArchiveObjects;
use crate::contact::{
    ContactIndex, ContactRecords, JournalObjects, ObjectChunks, ObjectSource, Tombstone,
    TombstoneWrite,
};
use crate::error::PortError;
use crate::ingest::{JobQueue, Journal, JournalWrite, RecordStore, RecordWrite};
use crate::media::MediaJob;
use crate::metrics::Metrics;
use crate::records::{ItemKey, MediaStatus, Record, StoredItem};
use crate::secrets::SecretSource;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

fn unavailable(service: &'static str) -> PortError {
    PortError::unavailable(service, "injected failure")
}

/// The archive bucket's objects by key (journal bodies, and media when a test puts some).
#[derive(Default)]
pub struct MemoryJournal {
    pub objects: Mutex<BTreeMap<String, Vec<u8>>>,
    /// The receipt time each journal object was written with.
    pub received_at: Mutex<BTreeMap<String, i64>>,
    pub fail: AtomicBool,
}

#[async_trait]
impl Journal for MemoryJournal {
    async fn put_if_absent(
        &self,
        key: &str,
        body: &[u8],
        received_at: i64,
    ) -> Result<JournalWrite, PortError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(unavailable("s3"));
        }
        let mut objects = self.objects.lock().map_err(|_| unavailable("s3"))?;
        if objects.contains_key(key) {
            return Ok(JournalWrite::AlreadyPresent);
        }
        objects.insert(key.to_owned(), body.to_vec());
        if let Ok(mut times) = self.received_at.lock() {
            times.insert(key.to_owned(), received_at);
        }
        Ok(JournalWrite::Created)
    }
}

/// A replay lists and reads the journal (listing dates every object at its receipt time).
#[async_trait]
impl crate::ingest::JournalSource for MemoryJournal {
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::ingest::JournalEntry>, PortError> {
        let objects = self.objects.lock().map_err(|_| unavailable("s3"))?;
        let times = self.received_at.lock().map_err(|_| unavailable("s3"))?;
        Ok(objects
            .keys()
            .filter(|key| key.starts_with(prefix))
            .filter(|key| start_after.is_none_or(|after| key.as_str() > after))
            .take(limit)
            .map(|key| crate::ingest::JournalEntry {
                key: key.clone(),
                last_modified: times.get(key).copied(),
            })
            .collect())
    }

    async fn read(&self, key: &str) -> Result<Option<crate::ingest::StoredBody>, PortError> {
        let objects = self.objects.lock().map_err(|_| unavailable("s3"))?;
        let times = self.received_at.lock().map_err(|_| unavailable("s3"))?;
        Ok(objects.get(key).map(|body| crate::ingest::StoredBody {
            body: body.clone(),
            received_at: times.get(key).copied(),
            last_modified: times.get(key).copied(),
        }))
    }
}

/// Erasure rewrites journal objects whole.
#[async_trait]
impl JournalObjects for MemoryJournal {
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, PortError> {
        let objects = self.objects.lock().map_err(|_| unavailable("s3"))?;
        Ok(objects.get(key).cloned())
    }

    async fn replace(&self, key: &str, body: Vec<u8>) -> Result<(), PortError> {
        let mut objects = self.objects.lock().map_err(|_| unavailable("s3"))?;
        objects.insert(key.to_owned(), body);
        Ok(())
    }
}

#[async_trait]
impl ArchiveObjects for MemoryJournal {
    async fn delete_all_versions(&self, key: &str) -> Result<(), PortError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(unavailable("s3"));
        }
        let mut objects = self.objects.lock().map_err(|_| unavailable("s3"))?;
        objects.remove(key);
        Ok(())
    }
}

/// Export streams objects: here in one chunk.
#[async_trait]
impl ObjectSource for MemoryJournal {
    async fn open(&self, key: &str) -> Result<Option<ObjectChunks>, PortError> {
        let body = self
            .objects
            .lock()
            .map_err(|_| unavailable("s3"))?
            .get(key)
            .cloned();
        Ok(body.map(|body| {
            let chunk: Result<bytes::Bytes, PortError> = Ok(bytes::Bytes::from(body));
            Box::pin(futures::stream::iter([chunk])) as ObjectChunks
        }))
    }
}

/// The records table in memory: each item as the codec would store it, by key, with a settable
/// media status to simulate the fetcher.
#[derive(Default)]
pub struct MemoryRecords {
    pub items: Mutex<BTreeMap<ItemKey, StoredItem>>,
    /// Record writes fail.
    pub fail: AtomicBool,
    /// Reads of erasure markers fail.
    pub fail_marker_reads: AtomicBool,
}

impl MemoryRecords {
    pub fn len(&self) -> usize {
        self.items.lock().map(|i| i.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Items of one kind (e.g. only the journal links).
    pub fn count_kind(&self, kind: crate::records::RecordKind) -> usize {
        self.items
            .lock()
            .map(|items| {
                items
                    .values()
                    .filter(|item| item.kind == Some(kind.into()))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Message, status and error items (without the journal links and body items kept for
    /// erasure and retention).
    pub fn records_len(&self) -> usize {
        self.len()
            - self.count_kind(crate::records::RecordKind::JournalLink)
            - self.count_kind(crate::records::RecordKind::JournalBody)
    }

    /// Sets the media status of the message record under partition key `pk`.
    pub fn set_media_status(&self, pk: &str, status: MediaStatus) {
        if let Ok(mut items) = self.items.lock() {
            if let Some(item) = items.get_mut(&ItemKey::message(pk)) {
                item.media_status = Some(status);
            }
        }
    }
}

#[async_trait]
impl RecordStore for MemoryRecords {
    async fn put_if_absent(&self, record: &Record) -> Result<RecordWrite, PortError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(unavailable("dynamodb"));
        }
        let mut items = self.items.lock().map_err(|_| unavailable("dynamodb"))?;
        let item = StoredItem::from(record);
        if let Some(present) = items.get(&item.key) {
            return Ok(RecordWrite::AlreadyPresent {
                media_status: present.media_status,
                received_at: present.received_at,
            });
        }
        items.insert(item.key.clone(), item);
        Ok(RecordWrite::Created)
    }

    async fn erasure_markers(
        &self,
        keys: &[ItemKey],
    ) -> Result<std::collections::HashMap<String, i64>, PortError> {
        if self.fail_marker_reads.load(Ordering::SeqCst) {
            return Err(unavailable("dynamodb"));
        }
        let items = self.items.lock().map_err(|_| unavailable("dynamodb"))?;
        Ok(keys
            .iter()
            .filter_map(|key| {
                let erased_at = items.get(key)?.erased_at?;
                Some((key.pk.clone(), erased_at))
            })
            .collect())
    }
}

/// The records table as erasure and export use it, with the conditions the adapter's writes carry.
#[async_trait]
impl ContactRecords for MemoryRecords {
    async fn keys(&self, index: ContactIndex, hash: &str) -> Result<Vec<ItemKey>, PortError> {
        let items = self.items.lock().map_err(|_| unavailable("dynamodb"))?;
        Ok(items
            .values()
            .filter(|item| {
                let indexed = match index {
                    ContactIndex::WaId => &item.contact_wa_hash,
                    ContactIndex::UserId => &item.contact_user_hash,
                    ContactIndex::ParentUserId => &item.contact_parent_hash,
                };
                indexed.as_deref() == Some(hash)
            })
            .map(|item| item.key.clone())
            .collect())
    }

    async fn get(&self, key: &ItemKey) -> Result<Option<StoredItem>, PortError> {
        let items = self.items.lock().map_err(|_| unavailable("dynamodb"))?;
        Ok(items.get(key).cloned())
    }

    async fn tombstone(
        &self,
        key: &ItemKey,
        tombstone: &Tombstone,
        expected_media_key: Option<&str>,
    ) -> Result<TombstoneWrite, PortError> {
        let mut items = self.items.lock().map_err(|_| unavailable("dynamodb"))?;
        match items.get(key) {
            Some(item)
                if !item.is_tombstone() && item.media_key.as_deref() == expected_media_key =>
            {
                items.insert(key.clone(), tombstone.item(key));
                Ok(TombstoneWrite::Written)
            }
            _ => Ok(TombstoneWrite::Changed),
        }
    }

    async fn mark_erased(&self, marker: &StoredItem) -> Result<(), PortError> {
        let mut items = self.items.lock().map_err(|_| unavailable("dynamodb"))?;
        items.insert(marker.key.clone(), marker.clone());
        Ok(())
    }
}

/// Enqueued jobs in order.
#[derive(Default)]
pub struct MemoryQueue {
    pub jobs: Mutex<Vec<MediaJob>>,
    pub fail: AtomicBool,
}

impl MemoryQueue {
    pub fn jobs(&self) -> Vec<MediaJob> {
        self.jobs.lock().map(|j| j.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn enqueue(&self, jobs: &[MediaJob]) -> Result<(), PortError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(unavailable("sqs"));
        }
        self.jobs
            .lock()
            .map_err(|_| unavailable("sqs"))?
            .extend_from_slice(jobs);
        Ok(())
    }
}

/// Secrets by id, counting reads; [`MemorySecrets::set_unavailable`] makes reads fail as a
/// throttled or unreachable Secrets Manager does.
#[derive(Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<String, String>>,
    reads: AtomicUsize,
    unavailable: AtomicBool,
}

impl MemorySecrets {
    pub fn set(&self, id: &str, value: &str) {
        if let Ok(mut values) = self.values.lock() {
            values.insert(id.to_owned(), value.to_owned());
        }
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    /// While `true`, every read fails with `PortError::Unavailable`.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }
}

#[async_trait]
impl SecretSource for MemorySecrets {
    async fn secret_string(&self, secret_id: &str) -> Result<String, PortError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(unavailable("secretsmanager"));
        }
        self.values
            .lock()
            .map_err(|_| unavailable("secretsmanager"))?
            .get(secret_id)
            .cloned()
            .ok_or_else(|| PortError::failed("secretsmanager", "secret not found"))
    }
}

/// Counts by name.
#[derive(Default)]
pub struct MemoryMetrics {
    pub counts: Mutex<BTreeMap<&'static str, u64>>,
    /// The latest value of each gauge.
    pub gauges: Mutex<BTreeMap<&'static str, f64>>,
}

impl MemoryMetrics {
    pub fn get(&self, name: &str) -> u64 {
        self.counts
            .lock()
            .ok()
            .and_then(|c| c.get(name).copied())
            .unwrap_or(0)
    }

    /// The latest value of a gauge, if it was ever set.
    pub fn gauge_value(&self, name: &str) -> Option<f64> {
        self.gauges.lock().ok().and_then(|g| g.get(name).copied())
    }
}

impl Metrics for MemoryMetrics {
    fn count(&self, name: &'static str, value: u64) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(name).or_insert(0) += value;
        }
    }

    fn gauge(&self, name: &'static str, value: f64) {
        if let Ok(mut gauges) = self.gauges.lock() {
            gauges.insert(name, value);
        }
    }
}

impl MemoryRecords {
    /// Marks every media record archived (as if the fetcher had run).
    pub fn set_media_status_all_archived(&self) {
        if let Ok(mut items) = self.items.lock() {
            for item in items.values_mut() {
                if item.media_status.is_some() {
                    item.media_status = Some(MediaStatus::Archived);
                }
            }
        }
    }
}

/// The webhook use case wired to in-memory ports, with handles on each (unit tests, benchmarks).
pub struct MemoryIngest {
    pub ingest: crate::ingest::Ingest,
    pub journal: std::sync::Arc<MemoryJournal>,
    pub records: std::sync::Arc<MemoryRecords>,
    pub queue: std::sync::Arc<MemoryQueue>,
    pub secrets: std::sync::Arc<MemorySecrets>,
    pub metrics: std::sync::Arc<MemoryMetrics>,
    pub clock: std::sync::Arc<crate::clock::FixedClock>,
}

impl MemoryIngest {
    /// Secret ids used by the in-memory wiring.
    pub const META_SECRET_ID: &'static str = "meta";
    pub const HASH_SECRET_ID: &'static str = "hash";
    /// The contact-hash key the in-memory wiring's secret holds.
    pub const HASH_KEY: &'static str = "0123456789abcdef0123456789abcdef";

    /// The partition key the wiring stores the message (and the statuses) `wamid` under.
    pub fn message_key(wamid: &str) -> String {
        crate::contact::ContactHasher::new(Self::HASH_KEY)
            .record_key(crate::contact::RecordIdKind::Message, wamid)
    }

    /// Wires the use case with the given Meta secret JSON, a fixed clock and 30-day retention.
    pub fn new(meta_secret_json: &str) -> Self {
        use crate::secrets::{parse_contact_hash_key, parse_meta_secret, SecretCache};
        use std::sync::Arc;
        let journal = Arc::new(MemoryJournal::default());
        let records = Arc::new(MemoryRecords::default());
        let queue = Arc::new(MemoryQueue::default());
        let secrets = Arc::new(MemorySecrets::default());
        let metrics = Arc::new(MemoryMetrics::default());
        let clock = Arc::new(crate::clock::FixedClock::at(1_763_800_000));
        secrets.set(Self::META_SECRET_ID, meta_secret_json);
        secrets.set(Self::HASH_SECRET_ID, Self::HASH_KEY);
        let ingest = crate::ingest::Ingest {
            recorder: crate::ingest::Recorder {
                journal: journal.clone(),
                records: records.clone(),
                queue: queue.clone(),
                contact_hash_key: Arc::new(SecretCache::new(
                    secrets.clone(),
                    clock.clone(),
                    Self::HASH_SECRET_ID,
                    i64::MAX,
                    parse_contact_hash_key,
                )),
                clock: clock.clone(),
                metrics: metrics.clone(),
                retention: crate::retention::RetentionPolicy::days(30),
                media_deadline_days: crate::media::DEFAULT_MEDIA_DEADLINE_DAYS,
            },
            meta_secret: Arc::new(
                SecretCache::new(
                    secrets.clone(),
                    clock.clone(),
                    Self::META_SECRET_ID,
                    crate::secrets::DEFAULT_SECRET_TTL_SECONDS,
                    parse_meta_secret,
                )
                .with_metrics(metrics.clone()),
            ),
        };
        Self {
            ingest,
            journal,
            records,
            queue,
            secrets,
            metrics,
            clock,
        }
    }
}
