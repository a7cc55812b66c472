//! Per-contact erasure (GDPR art. 17): every record of a contact becomes a tombstone, its media
//! objects and its share of the journal go, and an audit entry without personal data remains.
//!
//! A contact is named by any of `wa_id`, business-scoped `user_id` and `parent_user_id`; only
//! their keyed hashes are looked up (the `by-contact-wa` / `by-contact-user` /
//! `by-contact-parent` indexes). Records and journal links that carry several hashes (a message's
//! `from` and `from_user_id`, a `user_changed_number` system message's old and new ids) link the
//! ids of one person, so the erasure follows every id the person had when the operator knows one.
//!
//! Order, chosen so that a run cut short is finished by the next one, and so that nothing of the
//! contact comes back: read everything; leave an erasure marker per id, so the webhook stores
//! nothing of the contact's old data if Meta redelivers a body ([`ErasureMarker`]); redact or
//! delete the journal objects; then per record delete its media and put the tombstone; then
//! tombstone the journal links (which the next run would otherwise need to find the journal again).

use crate::archive::ArchiveObjects;
use crate::clock::Clock;
use crate::contact::{
    redact, ContactError, ContactHashes, ContactIds, ContactIndex, ContactMatcher, ContactRecords,
    JournalObjects, Redaction, Tombstone, TombstoneWrite,
};
use crate::contact::{ContactHasher, RecordIdKind, MAX_CONTACT_IDS};
use crate::error::PortError;
use crate::media::MediaJob;
use crate::metrics::Metrics;
use crate::records::{ItemKey, ItemKind, StoredItem};
use crate::retention::ExpirySlot;
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Store calls in flight at once by default (reads, deletes, tombstones).
pub const CONCURRENCY: usize = 16;
/// Rounds of "ids found on records lead to more records"; a contact has at most a few ids.
const MAX_IDENTITY_ROUNDS: usize = 8;
/// How long an erasure marker lives. Meta redelivers an unacknowledged body for up to 7 days;
/// the margin covers a stuck delivery queue on either side. (A coexistence history sync, which
/// can replay up to 180 days of chats, happens once, when a number is onboarded.)
pub const ERASURE_MARKER_DAYS: i64 = 30;

/// What an erasure leaves per id of the contact, so the webhook can tell that a body it receives
/// holds the old data of an erased contact: key `erased.<keyed hash of the contact hash>` +
/// `contact`, `kind = erased-contact`, `erased_at`, and an expiry on the retention clock
/// ([`ERASURE_MARKER_DAYS`]). It holds no contact hash: the key is a second keyed hash of it,
/// which no index is queried by.
pub struct ErasureMarker;

impl ErasureMarker {
    pub const SORT_KEY: &'static str = "contact";

    /// The marker's key for one id's contact hash.
    /// (Contact hashes are domain-separated by id kind already.)
    pub fn key(hasher: &ContactHasher, contact_hash: &str) -> ItemKey {
        ItemKey {
            pk: format!(
                "erased.{}",
                hasher.record_key(RecordIdKind::ErasedContact, contact_hash)
            ),
            sk: Self::SORT_KEY.to_owned(),
        }
    }

    /// The marker item an erasure at `erased_at` writes.
    pub fn item(key: ItemKey, erased_at: i64) -> StoredItem {
        let expires_at = erased_at + ERASURE_MARKER_DAYS * 86_400;
        StoredItem {
            expiry_slot: Some(ExpirySlot::of(&key, expires_at).to_string()),
            key,
            kind: Some(ItemKind::ErasedContact),
            erased_at: Some(erased_at),
            expires_at: Some(expires_at),
            ..StoredItem::default()
        }
    }
}

/// Every item the contact's hashes lead to (tombstones excluded), read consistently and keyed by
/// `(pk, sk)`. Hashes found on the items (a record's other ids, a journal link's aliases) join
/// `hashes`, and their indexes are read too, so any one id of a person finds every id they had.
pub async fn gather(
    records: &dyn ContactRecords,
    hashes: &mut ContactHashes,
    concurrency: usize,
) -> Result<BTreeMap<ItemKey, StoredItem>, ErasureError> {
    let mut items = BTreeMap::new();
    let mut queried: BTreeSet<(ContactIndex, String)> = BTreeSet::new();
    for _ in 0..MAX_IDENTITY_ROUNDS {
        if hashes.len() > MAX_CONTACT_IDS {
            return Err(ErasureError::Contact(ContactError::TooManyIds));
        }
        let pending: Vec<(ContactIndex, String)> = hashes
            .all()
            .map(|(index, hash)| (index, hash.to_owned()))
            .filter(|pair| !queried.contains(pair))
            .collect();
        if pending.is_empty() {
            break;
        }
        let mut keys = BTreeSet::new();
        for (index, hash) in pending {
            keys.extend(records.keys(index, &hash).await?);
            queried.insert((index, hash));
        }
        keys.retain(|key| !items.contains_key(key));
        let read: Vec<(ItemKey, Option<StoredItem>)> = stream::iter(keys)
            .map(|key| async move { records.get(&key).await.map(|item| (key, item)) })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        for (key, item) in read {
            let Some(item) = item.filter(|item| !item.is_tombstone()) else {
                continue;
            };
            hashes.learn(&item);
            items.insert(key, item);
        }
    }
    if hashes.len() > MAX_CONTACT_IDS {
        return Err(ErasureError::Contact(ContactError::TooManyIds));
    }
    Ok(items)
}

/// The journal keys items point to (only under `journal/`: nothing else is ever touched).
pub fn journal_keys<'a>(items: impl Iterator<Item = &'a StoredItem>) -> BTreeSet<String> {
    items
        .filter_map(|item| item.journal_key.as_deref())
        .filter(|key| key.starts_with("journal/") && !key.contains(".."))
        .map(str::to_owned)
        .collect()
}

/// What an erasure did. Counts only: no id, no content.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErasureReport {
    /// Messages, statuses and errors replaced by tombstones.
    pub records_erased: u64,
    pub media_objects_deleted: u64,
    /// Archived media bytes, deleted journal bytes and bytes cut from redacted journal objects.
    pub bytes_freed: u64,
    pub journal_objects_redacted: u64,
    pub journal_objects_deleted: u64,
    /// Journal objects that are not JSON and name the contact: deleted whole (they cannot be
    /// redacted safely), also counted in `journal_objects_deleted`.
    pub journal_objects_unreadable: u64,
    /// Journal links replaced by tombstones.
    pub journal_links_erased: u64,
    /// Markers left so a redelivered body stores nothing of the contact (one per id).
    pub erasure_markers: u64,
}

/// Why an erasure (or the gathering of a contact's items) stopped. Rerunning finishes it: every
/// step is idempotent.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Contact(#[from] ContactError),
    #[error(transparent)]
    Store(#[from] PortError),
}

/// The erasure use case and its ports.
pub struct Eraser {
    pub records: Arc<dyn ContactRecords>,
    pub journal: Arc<dyn JournalObjects>,
    pub objects: Arc<dyn ArchiveObjects>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
    pub hasher: ContactHasher,
    /// Store calls in flight at once ([`CONCURRENCY`]; 1 against moto, whose S3 listing races
    /// with concurrent deletes).
    pub concurrency: usize,
}

/// What erasing the contact from one journal object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JournalErasure {
    /// Absent, or holding nothing of the contact.
    Untouched,
    /// Not JSON, naming the contact: deleted whole.
    Unreadable { bytes_freed: u64 },
    /// Nothing of anyone else remained.
    Deleted { bytes_freed: u64 },
    /// Rewritten without the contact's elements.
    Redacted { bytes_freed: u64 },
}

impl ErasureReport {
    fn add_journal(&mut self, outcome: JournalErasure) {
        match outcome {
            JournalErasure::Untouched => {}
            JournalErasure::Unreadable { bytes_freed } => {
                self.journal_objects_unreadable += 1;
                self.journal_objects_deleted += 1;
                self.bytes_freed += bytes_freed;
            }
            JournalErasure::Deleted { bytes_freed } => {
                self.journal_objects_deleted += 1;
                self.bytes_freed += bytes_freed;
            }
            JournalErasure::Redacted { bytes_freed } => {
                self.journal_objects_redacted += 1;
                self.bytes_freed += bytes_freed;
            }
        }
    }

    fn add_record(&mut self, record: RecordErasure) {
        self.records_erased += u64::from(record.tombstoned);
        self.media_objects_deleted += record.media_objects_deleted;
        self.bytes_freed += record.bytes_freed;
    }
}

impl Eraser {
    /// Erases everything held about the contact and reports counts; a second run finds nothing.
    pub async fn erase(&self, contact: &ContactIds) -> Result<ErasureReport, ErasureError> {
        let mut hashes = ContactHashes::of(&self.hasher, contact)?;
        let concurrency = self.concurrency.max(1);
        let items = gather(self.records.as_ref(), &mut hashes, concurrency).await?;
        let mut report = ErasureReport::default();
        let now = self.clock.now_epoch_seconds();

        // Markers first: from here on a redelivered body stores nothing of the contact.
        let markers: Vec<StoredItem> = hashes
            .all()
            .map(|(_, hash)| ErasureMarker::item(ErasureMarker::key(&self.hasher, hash), now))
            .collect();
        report.erasure_markers = markers.len() as u64;
        stream::iter(markers)
            .map(|marker| async move { self.records.mark_erased(&marker).await })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<()>>()
            .await?;

        let matcher = ContactMatcher {
            hasher: &self.hasher,
            hashes: &hashes,
        };
        let matcher = &matcher;
        let outcomes: Vec<JournalErasure> = stream::iter(journal_keys(items.values()))
            .map(|key| async move { self.erase_from_journal(&key, matcher).await })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        for outcome in outcomes {
            report.add_journal(outcome);
        }

        let (links, records): (Vec<_>, Vec<_>) = items
            .into_iter()
            .partition(|(_, item)| item.is_journal_link());
        let erased: Vec<RecordErasure> = stream::iter(records)
            .map(|(key, item)| async move { self.erase_record(key, item, now).await })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        for one in erased {
            report.add_record(one);
        }

        // Links become tombstones too: a redelivered body cannot recreate them, and nothing of
        // the contact (not even the index value) stays on them.
        let erased_links: Vec<RecordErasure> = stream::iter(links)
            .map(|(key, item)| async move { self.erase_record(key, item, now).await })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        report.journal_links_erased = erased_links.iter().filter(|l| l.tombstoned).count() as u64;
        self.audit(&hashes, &report);
        Ok(report)
    }

    async fn erase_from_journal(
        &self,
        key: &str,
        matcher: &ContactMatcher<'_>,
    ) -> Result<JournalErasure, PortError> {
        let Some(body) = self.journal.read(key).await? else {
            return Ok(JournalErasure::Untouched);
        };
        Ok(match redact(&body, matcher) {
            Redaction::Unchanged => JournalErasure::Untouched,
            Redaction::DeleteUnreadable => {
                self.objects.delete_all_versions(key).await?;
                JournalErasure::Unreadable {
                    bytes_freed: body.len() as u64,
                }
            }
            Redaction::Delete => {
                self.objects.delete_all_versions(key).await?;
                JournalErasure::Deleted {
                    bytes_freed: body.len() as u64,
                }
            }
            Redaction::Rewrite(redacted) => {
                let bytes_freed = body.len().saturating_sub(redacted.len()) as u64;
                self.journal.replace(key, redacted).await?;
                JournalErasure::Redacted { bytes_freed }
            }
        })
    }

    /// Deletes the record's media, then tombstones it, re-reading when it changed in between.
    async fn erase_record(
        &self,
        key: ItemKey,
        mut item: StoredItem,
        now: i64,
    ) -> Result<RecordErasure, PortError> {
        let (mut media, mut bytes) = (0, 0);
        for _ in 0..4 {
            let media_key = item.media_key.clone();
            if let Some(media_key) = media_key.as_deref().filter(|k| k.starts_with("media/")) {
                self.objects.delete_all_versions(media_key).await?;
                media += 1;
                bytes += item.media_bytes.unwrap_or(0);
            } else if let Some(job) = media_job(&key, &item) {
                // Not archived (yet): a fetcher may have stored the file without recording it.
                self.objects
                    .delete_all_versions(&crate::media::media_key(&job, None))
                    .await?;
            }
            let tombstone = Tombstone {
                erased_at: now,
                expires_at: item.expires_at,
            };
            match self
                .records
                .tombstone(&key, &tombstone, media_key.as_deref())
                .await?
            {
                TombstoneWrite::Written => {
                    return Ok(RecordErasure {
                        tombstoned: true,
                        media_objects_deleted: media,
                        bytes_freed: bytes,
                    })
                }
                TombstoneWrite::Changed => match self.records.get(&key).await? {
                    Some(fresh) if !fresh.is_tombstone() => item = fresh,
                    // Erased by a concurrent run, or expired and removed: nothing left to do.
                    _ => {
                        return Ok(RecordErasure {
                            tombstoned: false,
                            media_objects_deleted: media,
                            bytes_freed: bytes,
                        })
                    }
                },
            }
        }
        Err(PortError::failed(
            "dynamodb",
            "record kept changing during erasure; run the erasure again",
        ))
    }

    /// The audit entry: a structured log line and EMF metrics, counts and a pseudonymous id only.
    fn audit(&self, hashes: &ContactHashes, report: &ErasureReport) {
        tracing::info!(
            event = "erasure",
            reason = "erasure",
            contact = %hashes.audit_id(),
            records_erased = report.records_erased,
            media_deleted = report.media_objects_deleted,
            bytes_freed = report.bytes_freed,
            journal_redacted = report.journal_objects_redacted,
            journal_deleted = report.journal_objects_deleted,
            journal_unreadable = report.journal_objects_unreadable,
            journal_links_erased = report.journal_links_erased,
            erasure_markers = report.erasure_markers,
        );
        let m = &self.metrics;
        m.count("RecordsErased", report.records_erased);
        m.count("MediaDeleted", report.media_objects_deleted);
        m.count("BytesFreed", report.bytes_freed);
        m.count("JournalObjectsRedacted", report.journal_objects_redacted);
        m.count("JournalObjectsDeleted", report.journal_objects_deleted);
        m.flush();
    }
}

/// The media job a not-yet-archived media record implies (for its deterministic object key).
fn media_job(key: &ItemKey, item: &StoredItem) -> Option<MediaJob> {
    Some(MediaJob {
        record: key.pk.clone(),
        media_id: item.media_id.clone()?,
        media_kind: item.media_kind.clone().unwrap_or_default(),
        mime_type: item.media_mime_type.clone(),
        sha256: None,
        phone_number_id: item.phone_number_id.clone(),
        received_at: item.received_at?,
    })
}

/// What erasing one record did.
#[derive(Debug, Clone, Copy, Default)]
struct RecordErasure {
    /// This run wrote the tombstone (false: a concurrent run or the retention clock got there first).
    tombstoned: bool,
    media_objects_deleted: u64,
    bytes_freed: u64,
}

#[cfg(test)]
#[path = "tests/erasure.rs"]
mod tests;
