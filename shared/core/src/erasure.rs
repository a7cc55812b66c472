//! Per-contact erasure (GDPR art. 17): every record of a contact becomes a tombstone, its media
//! objects and its share of the journal go, and an audit entry without personal data remains.
//!
//! A contact is named by `wa_id` and/or business-scoped `user_id`; only their keyed hashes are
//! looked up (the `by-contact-wa` / `by-contact-user` indexes). Records that carry both hashes
//! link the two ids, so the erasure follows both even when the operator knows only one.
//!
//! Order, chosen so that a run cut short is finished by the next one: read everything, redact or
//! delete the journal objects, then per record delete its media and put the tombstone, then delete
//! the journal links (which the next run would otherwise need to find the journal again).

use crate::clock::Clock;
use crate::contact::{ContactHasher, ContactIdKind};
use crate::media_job::MediaJob;
use crate::ports::{ArchiveObjects, Metrics, PortError};
use async_trait::async_trait;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// `kind` of the tombstone left in place of an erased record: the webhook's conditional puts then
/// cannot recreate it from a redelivery, and the media fetcher treats it as a record gone.
pub const TOMBSTONE_KIND: &str = "erased";
/// `kind` of journal-link items.
pub const JOURNAL_LINK_KIND: &str = crate::records::RecordKind::JournalLink.as_str();
/// Store calls in flight at once by default (reads, deletes, tombstones).
pub const CONCURRENCY: usize = 16;
/// Rounds of "ids found on records lead to more records"; a contact has at most a few ids.
const MAX_IDENTITY_ROUNDS: usize = 8;

/// A contact as the operator names it (the raw ids never leave this process).
#[derive(Clone, Default)]
pub struct ContactIds {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
}

impl std::fmt::Debug for ContactIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactIds(<redacted>)")
    }
}

/// The keyed hashes a contact is known by (what the indexes and records hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactHashes {
    pub wa: BTreeSet<String>,
    pub user: BTreeSet<String>,
    /// The hash the audit id is derived from (the first one given).
    primary: String,
}

/// Why a contact cannot be looked up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContactError {
    #[error("give --wa-id and/or --user-id")]
    Missing,
    #[error("--wa-id must contain digits (the number as WhatsApp reports it)")]
    WaIdWithoutDigits,
    #[error("--user-id is empty")]
    EmptyUserId,
}

impl ContactHashes {
    /// Hashes the given ids, checking their shape without echoing them.
    pub fn of(hasher: &ContactHasher, ids: &ContactIds) -> Result<Self, ContactError> {
        let mut hashes = ContactHashes::default();
        if let Some(wa_id) = &ids.wa_id {
            if !wa_id.bytes().any(|b| b.is_ascii_digit()) {
                return Err(ContactError::WaIdWithoutDigits);
            }
            hashes.wa.insert(hasher.hash(ContactIdKind::WaId, wa_id));
        }
        if let Some(user_id) = &ids.user_id {
            if user_id.trim().is_empty() {
                return Err(ContactError::EmptyUserId);
            }
            hashes
                .user
                .insert(hasher.hash(ContactIdKind::UserId, user_id));
        }
        hashes.primary = match (hashes.wa.first(), hashes.user.first()) {
            (Some(hash), _) | (None, Some(hash)) => hash.clone(),
            (None, None) => return Err(ContactError::Missing),
        };
        Ok(hashes)
    }

    /// A pseudonymous id for audit lines: 16 hex of SHA-256 over the contact hash, so an audit
    /// entry can be correlated by whoever holds the key, and by nobody else.
    pub fn audit_id(&self) -> String {
        hex::encode(&Sha256::digest(self.primary.as_bytes())[..8])
    }

    /// Adds the hashes an item carries; true when one was new.
    fn learn(&mut self, item: &Item) -> bool {
        let mut new = false;
        if let Some(hash) = text(item, "contact_wa_hash") {
            new |= self.wa.insert(hash.to_owned());
        }
        if let Some(hash) = text(item, "contact_user_hash") {
            new |= self.user.insert(hash.to_owned());
        }
        new
    }
}

/// Which contact index to query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactIndex {
    /// `by-contact-wa`, keyed by `contact_wa_hash`.
    WaId,
    /// `by-contact-user`, keyed by `contact_user_hash`.
    UserId,
}

/// The key of a records-table item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemKey {
    pub wamid: String,
    pub sk: String,
}

/// A records-table item as plain JSON (strings, numbers, lists, maps): what the domain reads
/// without knowing DynamoDB.
pub type Item = Map<String, Value>;

/// A string attribute of an item.
pub fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// A whole-number attribute of an item.
pub fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(Value::as_i64)
}

/// What replaces an erased record: keys, `kind = erased`, when, and the original expiry so TTL
/// still removes it. No contact hash, no raw element, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub erased_at: i64,
    pub expires_at: Option<i64>,
}

/// The outcome of a conditional tombstone write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TombstoneWrite {
    Written,
    /// The item changed since it was read (e.g. its media was archived meanwhile), is already a
    /// tombstone, or is gone: read it again.
    Changed,
}

/// The records table as erasure and export use it.
#[async_trait]
pub trait ContactRecords: Send + Sync {
    /// Keys of every item the index holds under `hash` (all pages).
    async fn keys(&self, index: ContactIndex, hash: &str) -> Result<Vec<ItemKey>, PortError>;
    /// The whole item, strongly consistent.
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, PortError>;
    /// Replaces the item with `tombstone` if it is still a live record whose `media_key` is
    /// `expected_media_key` (absent when `None`), so media archived after the read is not lost
    /// track of.
    async fn tombstone(
        &self,
        key: &ItemKey,
        tombstone: &Tombstone,
        expected_media_key: Option<&str>,
    ) -> Result<TombstoneWrite, PortError>;
    /// Deletes a journal-link item (absent is success; other kinds are left alone).
    async fn delete_link(&self, key: &ItemKey) -> Result<(), PortError>;
}

/// Journal objects, read and rewritten whole (webhook bodies are at most a few hundred KB).
#[async_trait]
pub trait JournalObjects: Send + Sync {
    /// The object's bytes, `None` when absent.
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, PortError>;
    /// Writes `body` under `key` with the journal's encryption, leaving no older version behind.
    async fn replace(&self, key: &str, body: Vec<u8>) -> Result<(), PortError>;
}

/// Tells whether a contact id (as found in a journal) is the contact being erased or exported.
pub struct ContactMatcher<'a> {
    pub hasher: &'a ContactHasher,
    pub hashes: &'a ContactHashes,
}

impl ContactMatcher<'_> {
    /// True when either id hashes to one of the contact's hashes.
    pub fn is_contact(&self, wa_id: Option<&str>, user_id: Option<&str>) -> bool {
        let wa = wa_id.filter(|id| !id.is_empty()).is_some_and(|id| {
            self.hashes
                .wa
                .contains(&self.hasher.hash(ContactIdKind::WaId, id))
        });
        wa || user_id.filter(|id| !id.is_empty()).is_some_and(|id| {
            self.hashes
                .user
                .contains(&self.hasher.hash(ContactIdKind::UserId, id))
        })
    }
}

/// The contact's own elements of a journal object.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct ContactElements {
    pub contacts: Vec<Value>,
    pub messages: Vec<Value>,
    pub statuses: Vec<Value>,
}

impl ContactElements {
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty() && self.messages.is_empty() && self.statuses.is_empty()
    }
}

/// A journal body split into the contact's elements and everything else.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalSplit {
    /// The body without the contact's elements.
    pub rest: Value,
    pub contact: ContactElements,
    /// Messages and statuses (of anyone) left in `rest`.
    pub remaining: usize,
}

/// Splits a webhook body: `contacts[]` entries of the contact, messages whose `from` /
/// `from_user_id` and statuses whose `recipient_id` / `recipient_user_id` are the contact (an id
/// missing on the element is completed from `contacts[]`, as ingest does). `None`: not JSON.
pub fn split_journal(body: &[u8], matcher: &ContactMatcher<'_>) -> Option<JournalSplit> {
    let mut root: Value = serde_json::from_slice(body).ok()?;
    let mut contact = ContactElements::default();
    let mut remaining = 0;
    let entries = root.get_mut("entry").and_then(Value::as_array_mut);
    for entry in entries.into_iter().flatten() {
        let changes = entry.get_mut("changes").and_then(Value::as_array_mut);
        for change in changes.into_iter().flatten() {
            let Some(value) = change.get_mut("value").and_then(Value::as_object_mut) else {
                continue;
            };
            let listed = listed_contacts(value);
            for (array, wa_field, user_field) in [
                ("messages", "from", "from_user_id"),
                ("statuses", "recipient_id", "recipient_user_id"),
            ] {
                let Some(Value::Array(elements)) = value.get_mut(array) else {
                    continue;
                };
                let (theirs, others): (Vec<Value>, Vec<Value>) =
                    std::mem::take(elements).into_iter().partition(|element| {
                        let (wa, user) = element_ids(element, wa_field, user_field, &listed);
                        matcher.is_contact(wa.as_deref(), user.as_deref())
                    });
                remaining += others.len();
                *elements = others;
                match array {
                    "messages" => contact.messages.extend(theirs),
                    _ => contact.statuses.extend(theirs),
                }
            }
            if let Some(Value::Array(contacts)) = value.get_mut("contacts") {
                let (theirs, others): (Vec<Value>, Vec<Value>) = std::mem::take(contacts)
                    .into_iter()
                    .partition(|c| matcher.is_contact(field(c, "wa_id"), field(c, "user_id")));
                *contacts = others;
                contact.contacts.extend(theirs);
            }
        }
    }
    Some(JournalSplit {
        rest: root,
        contact,
        remaining,
    })
}

/// What erasure does with one journal object.
#[derive(Debug, Clone, PartialEq)]
pub enum Redaction {
    /// Nothing of the contact in it.
    Unchanged,
    /// Not JSON: left alone and counted.
    NotJson,
    /// Write this back under the same key (other contacts' elements remain).
    Rewrite(Vec<u8>),
    /// No message or status of anyone remains: delete the object.
    Delete,
}

/// Decides what becomes of a journal body when the contact is erased.
pub fn redact_journal(body: &[u8], matcher: &ContactMatcher<'_>) -> Redaction {
    let Some(split) = split_journal(body, matcher) else {
        return Redaction::NotJson;
    };
    if split.contact.is_empty() {
        Redaction::Unchanged
    } else if split.remaining == 0 {
        Redaction::Delete
    } else {
        // Serialising a `Value` cannot fail (string keys only).
        Redaction::Rewrite(serde_json::to_vec(&split.rest).unwrap_or_default())
    }
}

fn field<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// `(wa_id, user_id)` of each `contacts[]` entry.
fn listed_contacts(value: &Map<String, Value>) -> Vec<(Option<String>, Option<String>)> {
    match value.get("contacts") {
        Some(Value::Array(contacts)) => contacts
            .iter()
            .map(|c| {
                (
                    field(c, "wa_id").map(str::to_owned),
                    field(c, "user_id").map(str::to_owned),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The element's contact ids, one completed from `contacts[]` when only the other is present.
fn element_ids(
    element: &Value,
    wa_field: &str,
    user_field: &str,
    listed: &[(Option<String>, Option<String>)],
) -> (Option<String>, Option<String>) {
    let wa = field(element, wa_field).filter(|v| !v.is_empty());
    let user = field(element, user_field).filter(|v| !v.is_empty());
    let entry = listed.iter().find(|(listed_wa, listed_user)| {
        (wa.is_some() && listed_wa.as_deref() == wa)
            || (user.is_some() && listed_user.as_deref() == user)
    });
    (
        wa.map(str::to_owned)
            .or_else(|| entry.and_then(|e| e.0.clone())),
        user.map(str::to_owned)
            .or_else(|| entry.and_then(|e| e.1.clone())),
    )
}

/// Every item the contact's hashes lead to (tombstones excluded), read consistently and keyed by
/// `(wamid, sk)`. Hashes found on the items join `hashes`, and their indexes are read too.
pub async fn gather(
    records: &dyn ContactRecords,
    hashes: &mut ContactHashes,
    concurrency: usize,
) -> Result<BTreeMap<ItemKey, Item>, PortError> {
    let mut items = BTreeMap::new();
    let mut queried: BTreeSet<(bool, String)> = BTreeSet::new();
    for _ in 0..MAX_IDENTITY_ROUNDS {
        let pending: Vec<(ContactIndex, String)> = hashes
            .wa
            .iter()
            .map(|h| (ContactIndex::WaId, h.clone()))
            .chain(
                hashes
                    .user
                    .iter()
                    .map(|h| (ContactIndex::UserId, h.clone())),
            )
            .filter(|(index, h)| !queried.contains(&(*index == ContactIndex::WaId, h.clone())))
            .collect();
        if pending.is_empty() {
            break;
        }
        let mut keys = BTreeSet::new();
        for (index, hash) in pending {
            keys.extend(records.keys(index, &hash).await?);
            queried.insert((index == ContactIndex::WaId, hash));
        }
        keys.retain(|key| !items.contains_key(key));
        let read: Vec<(ItemKey, Option<Item>)> = stream::iter(keys)
            .map(|key| async move { records.get(&key).await.map(|item| (key, item)) })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        for (key, item) in read {
            let Some(item) = item else { continue };
            if text(&item, "kind") == Some(TOMBSTONE_KIND) {
                continue;
            }
            hashes.learn(&item);
            items.insert(key, item);
        }
    }
    Ok(items)
}

/// The journal keys items point to (only under `journal/`: nothing else is ever touched).
pub fn journal_keys<'a>(items: impl Iterator<Item = &'a Item>) -> BTreeSet<String> {
    items
        .filter_map(|item| text(item, "journal_key"))
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
    /// Journal objects that are not JSON: left alone (they cannot be redacted safely).
    pub journal_objects_unreadable: u64,
    pub journal_links_deleted: u64,
}

/// Why an erasure stopped. Rerunning finishes it: every step is idempotent.
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

/// One journal object's outcome: (redacted, deleted, unreadable, bytes freed).
type JournalOutcome = (u64, u64, u64, u64);

impl Eraser {
    /// Erases everything held about the contact and reports counts; a second run finds nothing.
    pub async fn erase(&self, contact: &ContactIds) -> Result<ErasureReport, ErasureError> {
        let mut hashes = ContactHashes::of(&self.hasher, contact)?;
        let concurrency = self.concurrency.max(1);
        let items = gather(self.records.as_ref(), &mut hashes, concurrency).await?;
        let mut report = ErasureReport::default();

        let matcher = ContactMatcher {
            hasher: &self.hasher,
            hashes: &hashes,
        };
        let matcher = &matcher;
        let outcomes: Vec<JournalOutcome> = stream::iter(journal_keys(items.values()))
            .map(|key| async move { self.erase_from_journal(&key, matcher).await })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        for (redacted, deleted, unreadable, bytes) in outcomes {
            report.journal_objects_redacted += redacted;
            report.journal_objects_deleted += deleted;
            report.journal_objects_unreadable += unreadable;
            report.bytes_freed += bytes;
        }

        let (links, records): (Vec<_>, Vec<_>) = items
            .into_iter()
            .partition(|(_, item)| text(item, "kind") == Some(JOURNAL_LINK_KIND));
        let now = self.clock.now_epoch_seconds();
        let erased: Vec<RecordErasure> = stream::iter(records)
            .map(|(key, item)| async move { self.erase_record(key, item, now).await })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        for one in erased {
            report.records_erased += u64::from(one.tombstoned);
            report.media_objects_deleted += one.media_objects_deleted;
            report.bytes_freed += one.bytes_freed;
        }

        report.journal_links_deleted = links.len() as u64;
        stream::iter(links)
            .map(|(key, _)| async move { self.records.delete_link(&key).await })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        self.audit(&hashes, &report);
        Ok(report)
    }

    async fn erase_from_journal(
        &self,
        key: &str,
        matcher: &ContactMatcher<'_>,
    ) -> Result<JournalOutcome, PortError> {
        let Some(body) = self.journal.read(key).await? else {
            return Ok((0, 0, 0, 0));
        };
        Ok(match redact_journal(&body, matcher) {
            Redaction::Unchanged => (0, 0, 0, 0),
            Redaction::NotJson => (0, 0, 1, 0),
            Redaction::Delete => {
                self.objects.delete_all_versions(key).await?;
                (0, 1, 0, body.len() as u64)
            }
            Redaction::Rewrite(redacted) => {
                let freed = body.len().saturating_sub(redacted.len()) as u64;
                self.journal.replace(key, redacted).await?;
                (1, 0, 0, freed)
            }
        })
    }

    /// Deletes the record's media, then tombstones it, re-reading when it changed in between.
    async fn erase_record(
        &self,
        key: ItemKey,
        mut item: Item,
        now: i64,
    ) -> Result<RecordErasure, PortError> {
        let (mut media, mut bytes) = (0, 0);
        for _ in 0..4 {
            let media_key = text(&item, "media_key").map(str::to_owned);
            if let Some(media_key) = media_key.as_deref().filter(|k| k.starts_with("media/")) {
                self.objects.delete_all_versions(media_key).await?;
                media += 1;
                bytes += number(&item, "media_bytes").unwrap_or(0).max(0) as u64;
            } else if let Some(job) = media_job(&key, &item) {
                // Not archived (yet): a fetcher may have stored the file without recording it.
                self.objects
                    .delete_all_versions(&crate::media::media_key(&job, None))
                    .await?;
            }
            let tombstone = Tombstone {
                erased_at: now,
                expires_at: number(&item, "expires_at"),
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
                    Some(fresh) if text(&fresh, "kind") != Some(TOMBSTONE_KIND) => item = fresh,
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
        Err(PortError::Failed {
            service: "dynamodb",
            detail: "record kept changing during erasure; run the erasure again".to_owned(),
        })
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
            journal_links_deleted = report.journal_links_deleted,
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
fn media_job(key: &ItemKey, item: &Item) -> Option<MediaJob> {
    Some(MediaJob {
        wamid: key.wamid.clone(),
        media_id: text(item, "media_id")?.to_owned(),
        media_kind: text(item, "media_kind").unwrap_or_default().to_owned(),
        mime_type: text(item, "media_mime_type").map(str::to_owned),
        sha256: None,
        phone_number_id: text(item, "phone_number_id").map(str::to_owned),
        received_at: number(item, "received_at")?,
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
