//! The retention use case against in-memory ports with a fixed clock.

use super::*;
use crate::clock::FixedClock;
use crate::contact::{ErasureMarker, ERASURE_MARKER_DAYS};
use crate::records::{ItemKey, ItemKind, StoredItem};
use crate::retention::{ExpiredItem, ExpiredPage, ExpiringRecords, PageCursor, EXPIRY_SHARDS};
use crate::testkit::memory::MemoryMetrics;
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

const HOUR: i64 = 3600;
const NOW: i64 = 1_800_000_000;

/// The records table as retention sees it: items by key, the expiry index derived from them
/// (as the `by-expiry-hour` index follows the table), the checkpoint, and fault switches.
#[derive(Default)]
struct Table {
    items: Mutex<BTreeMap<ItemKey, StoredItem>>,
    checkpoint: Mutex<Option<i64>>,
    slots_read: Mutex<Vec<ExpirySlot>>,
    /// Every conditional delete of an item holding objects fails (DynamoDB throttling).
    fail_deletes: AtomicBool,
    /// Once, right after the sweep read this item: its media gets archived under this key (the
    /// media fetcher racing the sweep).
    archive_after_read: Mutex<Option<(ItemKey, String)>>,
}

impl Table {
    fn put(&self, item: StoredItem) {
        self.items.lock().unwrap().insert(item.key.clone(), item);
    }

    /// A message record expiring at `expires_at`, with its media (key, bytes) and journal.
    fn add(&self, pk: &str, expires_at: i64, media: Option<(&str, u64)>, journal: &str) {
        self.put(item(
            ItemKey::message(pk),
            ItemKind::Message,
            expires_at,
            media,
            Some(journal),
        ));
    }

    fn pks(&self) -> Vec<String> {
        self.items
            .lock()
            .unwrap()
            .keys()
            .map(|key| key.pk.clone())
            .collect()
    }

    /// Every object key an item still points at.
    fn referenced(&self) -> BTreeSet<String> {
        self.items
            .lock()
            .unwrap()
            .values()
            .flat_map(|item| [item.media_key.clone(), item.journal_key.clone()])
            .flatten()
            .collect()
    }
}

fn item(
    key: ItemKey,
    kind: ItemKind,
    expires_at: i64,
    media: Option<(&str, u64)>,
    journal: Option<&str>,
) -> StoredItem {
    StoredItem {
        expiry_slot: Some(ExpirySlot::of(&key, expires_at).to_string()),
        key,
        kind: Some(kind),
        expires_at: Some(expires_at),
        media_key: media.map(|(k, _)| k.to_owned()),
        media_bytes: media.map(|(_, b)| b),
        journal_key: journal.map(str::to_owned),
        ..StoredItem::default()
    }
}

#[async_trait]
impl ExpiringRecords for Table {
    async fn expired_in_slot(
        &self,
        slot: ExpirySlot,
        now: i64,
        cursor: Option<PageCursor>,
    ) -> Result<ExpiredPage, PortError> {
        self.slots_read.lock().unwrap().push(slot);
        // Pages of two after the cursor's key (as DynamoDB's LastEvaluatedKey works).
        let matching: Vec<ItemKey> = self
            .items
            .lock()
            .unwrap()
            .values()
            .filter(|item| {
                item.expires_at
                    .is_some_and(|at| item.expiry_slot == Some(slot.to_string()) && at <= now)
            })
            .filter(|item| cursor.as_ref().is_none_or(|c| item.key > c.0.key))
            .map(|item| item.key.clone())
            .collect();
        let page: Vec<ItemKey> = matching.iter().take(2).cloned().collect();
        let next = (matching.len() > 2).then(|| {
            PageCursor(StoredItem {
                key: page[1].clone(),
                ..StoredItem::default()
            })
        });
        Ok(ExpiredPage { keys: page, next })
    }

    async fn expired_item(&self, key: &ItemKey, now: i64) -> Result<ExpiredLookup, PortError> {
        let mut items = self.items.lock().unwrap();
        let Some(stored) = items.get(key).filter(|item| item.is_expired(now)).cloned() else {
            return Ok(ExpiredLookup::NotExpired);
        };
        let read = ExpiredItem::from(stored);
        if !read.holds_objects() {
            items.remove(key);
            return Ok(ExpiredLookup::Deleted(read));
        }
        let mut archive = self.archive_after_read.lock().unwrap();
        if archive.as_ref().is_some_and(|(k, _)| k == key) {
            let (_, media_key) = archive.take().unwrap();
            if let Some(item) = items.get_mut(key) {
                item.media_key = Some(media_key);
                item.media_bytes = Some(9);
            }
        }
        Ok(ExpiredLookup::Holding(read))
    }

    async fn delete_if_unchanged(&self, read: &ExpiredItem) -> Result<bool, PortError> {
        if self.fail_deletes.load(Ordering::SeqCst) {
            return Err(PortError::unavailable("dynamodb", "throttled"));
        }
        let mut items = self.items.lock().unwrap();
        let unchanged = items.get(&read.key).is_some_and(|item| {
            item.expires_at == read.expires_at
                && item.media_key == read.media_key
                && item.journal_key == read.journal_key
        });
        if unchanged {
            items.remove(&read.key);
        }
        Ok(unchanged)
    }

    async fn sweep_checkpoint(&self) -> Result<Option<i64>, PortError> {
        Ok(*self.checkpoint.lock().unwrap())
    }

    async fn set_sweep_checkpoint(&self, hour: i64) -> Result<(), PortError> {
        *self.checkpoint.lock().unwrap() = Some(hour);
        Ok(())
    }
}

/// The archive bucket: the objects present, every delete, and a switch that fails the deletes
/// of keys under a prefix (S3 throttling, a denied prefix).
#[derive(Default)]
struct Objects {
    present: Mutex<BTreeSet<String>>,
    deletes: Mutex<Vec<String>>,
    fail: Mutex<Option<String>>,
}

impl Objects {
    fn holding(keys: &[&str]) -> Self {
        let objects = Self::default();
        objects
            .present
            .lock()
            .unwrap()
            .extend(keys.iter().map(|k| (*k).to_owned()));
        objects
    }

    fn present(&self) -> BTreeSet<String> {
        self.present.lock().unwrap().clone()
    }

    fn fail_under(&self, prefix: Option<&str>) {
        *self.fail.lock().unwrap() = prefix.map(str::to_owned);
    }
}

#[async_trait]
impl ArchiveObjects for Objects {
    async fn delete_all_versions(&self, key: &str) -> Result<(), PortError> {
        if let Some(prefix) = self.fail.lock().unwrap().as_deref() {
            if key.starts_with(prefix) {
                return Err(PortError::unavailable("s3", "SlowDown"));
            }
        }
        self.deletes.lock().unwrap().push(key.to_owned());
        self.present.lock().unwrap().remove(key);
        Ok(())
    }
}

/// No object is left without an item pointing at it (the lifecycle backstop's job, a day late).
fn assert_nothing_orphaned(table: &Table, objects: &Objects) {
    let referenced = table.referenced();
    let orphans: Vec<String> = objects
        .present()
        .into_iter()
        .filter(|key| !referenced.contains(key))
        .collect();
    assert!(orphans.is_empty(), "orphaned: {orphans:?}");
}

fn world(
    now: i64,
    objects: Objects,
) -> (
    Expirer,
    Arc<Table>,
    Arc<Objects>,
    Arc<MemoryMetrics>,
    Arc<FixedClock>,
) {
    let table = Arc::new(Table::default());
    let objects = Arc::new(objects);
    let metrics = Arc::new(MemoryMetrics::default());
    let clock = Arc::new(FixedClock::at(now));
    let expirer = Expirer {
        records: table.clone(),
        objects: objects.clone(),
        clock: clock.clone(),
        metrics: metrics.clone(),
    };
    (expirer, table, objects, metrics, clock)
}

fn now_hour() -> i64 {
    RetentionPolicy::expiry_hour(NOW)
}

#[tokio::test]
async fn the_sweep_deletes_what_expired_with_media_and_journal_and_nothing_else() {
    let (expirer, table, objects, metrics, _) = world(NOW, Objects::default());
    table.add(
        "old-1",
        NOW - 2 * HOUR,
        Some(("media/a.jpg", 100)),
        "journal/j1.json",
    );
    table.add("old-2", NOW - 2 * HOUR, None, "journal/j1.json");
    table.add(
        "old-3",
        NOW - 2 * HOUR,
        Some(("media/b.jpg", 20)),
        "journal/j2.json",
    );
    table.add("just-now", NOW, None, "journal/j3.json");
    table.add("later-this-hour", NOW + 1, None, "journal/j4.json");
    table.add("tomorrow", NOW + 24 * HOUR, None, "journal/j5.json");
    *table.checkpoint.lock().unwrap() = Some(now_hour() - 3);

    let report = expirer.sweep().await.unwrap();

    assert_eq!(table.pks(), vec!["later-this-hour", "tomorrow"]);
    assert_eq!(report.records_expired, 4);
    assert_eq!(report.media_deleted, 2);
    assert_eq!(report.bytes_freed, 120);
    assert_eq!(report.journal_deleted, 3, "a shared journal object once");
    assert_eq!(report.records_failed, 0);
    let mut deletes = objects.deletes.lock().unwrap().clone();
    deletes.sort();
    assert_eq!(
        deletes,
        vec![
            "journal/j1.json",
            "journal/j2.json",
            "journal/j3.json",
            "media/a.jpg",
            "media/b.jpg"
        ]
    );
    assert_eq!(metrics.get("RecordsExpired"), 4);
    assert_eq!(metrics.get("MediaDeleted"), 2);
    assert_eq!(metrics.get("BytesFreed"), 120);
    assert_eq!(
        *table.checkpoint.lock().unwrap(),
        Some(now_hour()),
        "the current hour is read again next time"
    );
}

#[tokio::test]
async fn every_kind_on_the_clock_is_swept_objects_first() {
    let objects = Objects::holding(&["media/m.jpg", "journal/j.json", "journal/unparsed/b.bin"]);
    let (expirer, table, objects, _, _) = world(NOW, objects);
    let at = NOW - HOUR;
    let key = |pk: &str, sk: &str| ItemKey {
        pk: pk.to_owned(),
        sk: sk.to_owned(),
    };
    let j = Some("journal/j.json");
    table.put(item(
        key("m1", "message"),
        ItemKind::Message,
        at,
        Some(("media/m.jpg", 50)),
        j,
    ));
    table.put(item(
        key("m1", "status#read"),
        ItemKind::Status,
        at,
        None,
        j,
    ));
    table.put(item(key("e1", "error"), ItemKind::Error, at, None, j));
    table.put(item(
        key("journal.j", "contact#c1"),
        ItemKind::JournalLink,
        at,
        None,
        j,
    ));
    table.put(item(
        key("journal.b", "body"),
        ItemKind::JournalBody,
        at,
        None,
        Some("journal/unparsed/b.bin"),
    ));
    // What an erasure leaves: a tombstone (no objects) and a marker (erased 30 days ago).
    table.put(StoredItem::tombstone(
        key("m2", "message"),
        at - 60,
        Some(at),
    ));
    let marker_key = key("erased.0123", "contact");
    let marker = ErasureMarker::item(marker_key, at - ERASURE_MARKER_DAYS * 86_400);
    assert!(marker.is_expired(NOW), "{marker:?}");
    table.put(marker);
    // The checkpoint has no expiry and is in no slot.
    table.put(StoredItem::checkpoint(
        key("sweep.retention", "checkpoint"),
        0,
    ));
    *table.checkpoint.lock().unwrap() = Some(now_hour() - 2);

    let report = expirer.sweep().await.unwrap();

    assert_eq!(report.records_expired, 7, "{report:?}");
    assert_eq!(table.pks(), vec!["sweep.retention"]);
    assert!(objects.present().is_empty(), "{:?}", objects.present());
    assert_eq!(report.media_deleted, 1);
    assert_eq!(report.bytes_freed, 50);
    assert_eq!(report.journal_deleted, 2, "each journal object once");
    assert_eq!(objects.deletes.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn an_s3_failure_leaves_the_item_and_the_next_sweep_finishes_it() {
    let objects = Objects::holding(&[
        "media/a.jpg",
        "journal/a.json",
        "journal/b.json",
        "journal/c.json",
    ]);
    let (expirer, table, objects, _, _) = world(NOW, objects);
    table.add(
        "a",
        NOW - 3 * HOUR,
        Some(("media/a.jpg", 10)),
        "journal/a.json",
    );
    table.add("b", NOW - 4 * HOUR, None, "journal/b.json");
    table.add("c", NOW - HOUR, None, "journal/c.json");
    *table.checkpoint.lock().unwrap() = Some(now_hour() - 5);
    objects.fail_under(Some("media/"));

    let error = expirer.sweep().await.expect_err("the sweep reports it");
    assert!(matches!(error, PortError::Unavailable { .. }), "{error}");
    assert_eq!(table.pks(), vec!["a"], "the others of every hour went");
    assert!(objects.present().contains("media/a.jpg"));
    assert!(
        objects.present().contains("journal/a.json"),
        "the item went nowhere before its media"
    );
    assert_nothing_orphaned(&table, &objects);
    assert_eq!(
        *table.checkpoint.lock().unwrap(),
        Some(now_hour() - 3),
        "up to the failed hour, not past it"
    );

    // S3 is back: the next run reads from the failed hour and finishes the item.
    objects.fail_under(None);
    table.slots_read.lock().unwrap().clear();
    let report = expirer.sweep().await.unwrap();
    assert_eq!(report.records_expired, 1);
    assert_eq!(report.media_deleted, 1);
    assert_eq!(report.journal_deleted, 1);
    assert!(table.pks().is_empty());
    assert!(objects.present().is_empty());
    assert_eq!(report.hours_swept, 4, "the failed hour to now");
    assert!(table
        .slots_read
        .lock()
        .unwrap()
        .iter()
        .any(|slot| slot.hour == now_hour() - 3));
    assert_eq!(*table.checkpoint.lock().unwrap(), Some(now_hour()));

    // And a third changes nothing.
    let deletes = objects.deletes.lock().unwrap().len();
    let again = expirer.sweep().await.unwrap();
    assert_eq!(
        again,
        ExpiryReport {
            hours_swept: 1,
            ..ExpiryReport::default()
        }
    );
    assert_eq!(objects.deletes.lock().unwrap().len(), deletes);
    assert_eq!(*table.checkpoint.lock().unwrap(), Some(now_hour()));
}

#[tokio::test]
async fn a_shared_journal_that_cannot_go_keeps_an_item_pointing_at_it() {
    let objects = Objects::holding(&["journal/shared.json", "media/p.jpg"]);
    let (expirer, table, objects, _, _) = world(NOW, objects);
    let at = NOW - 2 * HOUR;
    let shared = Some("journal/shared.json");
    let key = |pk: &str, sk: &str| ItemKey {
        pk: pk.to_owned(),
        sk: sk.to_owned(),
    };
    table.put(item(
        key("p", "message"),
        ItemKind::Message,
        at,
        Some(("media/p.jpg", 3)),
        shared,
    ));
    table.put(item(
        key("p", "status#sent"),
        ItemKind::Status,
        at,
        None,
        shared,
    ));
    table.put(item(
        key("journal.s", "contact#1"),
        ItemKind::JournalLink,
        at,
        None,
        shared,
    ));
    *table.checkpoint.lock().unwrap() = Some(now_hour() - 2);
    objects.fail_under(Some("journal/"));

    assert!(expirer.sweep().await.is_err());
    assert!(objects.present().contains("journal/shared.json"));
    assert!(!table.pks().is_empty());
    assert_nothing_orphaned(&table, &objects);
    assert_eq!(*table.checkpoint.lock().unwrap(), Some(now_hour() - 2));

    objects.fail_under(None);
    let report = expirer.sweep().await.unwrap();
    assert!(table.pks().is_empty());
    assert!(objects.present().is_empty());
    assert_eq!(report.records_expired, 3);
    assert_eq!(report.journal_deleted, 1, "the first item took it");
}

#[tokio::test]
async fn a_failed_item_delete_after_its_objects_is_retried_next_run() {
    let objects = Objects::holding(&["media/a.jpg", "journal/a.json"]);
    let (expirer, table, objects, _, _) = world(NOW, objects);
    table.add("a", NOW - HOUR, Some(("media/a.jpg", 4)), "journal/a.json");
    *table.checkpoint.lock().unwrap() = Some(now_hour() - 1);
    table.fail_deletes.store(true, Ordering::SeqCst);

    let error = expirer.sweep().await.expect_err("DynamoDB failed");
    assert!(matches!(error, PortError::Unavailable { .. }));
    assert_eq!(table.pks(), vec!["a"], "still findable");
    assert!(objects.present().is_empty(), "its objects went first");
    assert_eq!(*table.checkpoint.lock().unwrap(), Some(now_hour() - 1));

    table.fail_deletes.store(false, Ordering::SeqCst);
    let report = expirer.sweep().await.unwrap();
    assert!(table.pks().is_empty());
    assert_eq!(report.records_expired, 1);
    assert_eq!(
        objects.deletes.lock().unwrap().len(),
        4,
        "deleted again: already gone is success"
    );
}

#[tokio::test]
async fn an_item_that_changed_after_its_read_is_read_again() {
    let objects = Objects::holding(&["journal/a.json", "media/late.jpg"]);
    let (expirer, table, objects, _, _) = world(NOW, objects);
    table.add("a", NOW - HOUR, None, "journal/a.json");
    // The media fetcher archives the file between the sweep's read and its delete.
    *table.archive_after_read.lock().unwrap() =
        Some((ItemKey::message("a"), "media/late.jpg".to_owned()));
    *table.checkpoint.lock().unwrap() = Some(now_hour() - 1);

    let report = expirer.sweep().await.unwrap();
    assert!(table.pks().is_empty());
    assert!(objects.present().is_empty(), "the new object went too");
    assert_eq!(report.records_expired, 1);
    assert_eq!(report.media_deleted, 1);
    assert_eq!(report.bytes_freed, 9);
}

#[tokio::test]
async fn the_sweep_reads_every_shard_of_the_hours_since_its_checkpoint() {
    let (expirer, table, _, _, clock) = world(NOW, Objects::default());
    let report = expirer.sweep().await.unwrap();
    let first_run = table.slots_read.lock().unwrap().len() as i64;
    assert_eq!(
        first_run,
        (FIRST_SWEEP_LOOKBACK_HOURS + 1) * i64::from(EXPIRY_SHARDS)
    );
    assert_eq!(report.hours_swept as i64, FIRST_SWEEP_LOOKBACK_HOURS + 1);

    table.slots_read.lock().unwrap().clear();
    clock.advance(HOUR);
    expirer.sweep().await.unwrap();
    let now_hour = RetentionPolicy::expiry_hour(NOW + HOUR);
    let mut read = table.slots_read.lock().unwrap().clone();
    read.sort();
    let want: Vec<ExpirySlot> = ExpirySlot::all_of_hour(now_hour - 1)
        .chain(ExpirySlot::all_of_hour(now_hour))
        .collect();
    assert_eq!(read, want, "each slot of the two hours once");
}

#[tokio::test]
async fn items_of_one_hour_in_every_shard_are_all_found() {
    let (expirer, table, _, _, _) = world(NOW, Objects::default());
    let hasher = crate::contact::ContactHasher::new(b"sixteen bytes or more");
    let mut shards = HashSet::new();
    for i in 0..200 {
        let pk = hasher.record_key(crate::contact::RecordIdKind::Message, &format!("wamid.{i}"));
        shards.insert(ItemKey::message(&pk).shard(EXPIRY_SHARDS));
        table.add(&pk, NOW - HOUR - i, None, &format!("journal/{i}.json"));
    }
    assert_eq!(
        shards.len(),
        EXPIRY_SHARDS as usize,
        "the items span every shard"
    );
    *table.checkpoint.lock().unwrap() = Some(now_hour() - 2);
    let report = expirer.sweep().await.unwrap();
    assert_eq!(report.records_expired, 200);
    assert!(table.pks().is_empty());
}

#[tokio::test]
async fn a_second_sweep_and_a_replayed_ttl_batch_change_nothing() {
    let (expirer, table, objects, _, _) = world(NOW, Objects::default());
    table.add(
        "old",
        NOW - HOUR,
        Some(("media/a.jpg", 5)),
        "journal/j.json",
    );
    expirer.sweep().await.unwrap();
    let deletes = objects.deletes.lock().unwrap().len();
    let again = expirer.sweep().await.unwrap();
    assert_eq!(again.records_expired, 0);
    assert_eq!(objects.deletes.lock().unwrap().len(), deletes);
}

fn removed(pk: &str, media: Option<&str>, journal: Option<&str>) -> ExpiredItem {
    ExpiredItem {
        key: ItemKey::message(pk),
        kind: Some(ItemKind::Message),
        expires_at: Some(NOW - HOUR),
        media_key: media.map(str::to_owned),
        media_bytes: if media.is_some() { 7 } else { 0 },
        journal_key: journal.map(str::to_owned),
    }
}

#[tokio::test]
async fn ttl_removals_delete_media_and_journal_once_per_batch() {
    let (expirer, _, objects, metrics, _) = world(NOW, Objects::default());
    let journal = Some("journal/j.json");
    let batch = vec![
        removed("a", Some("media/a.jpg"), journal),
        removed("b", None, journal),
    ];
    let (report, failure) = expirer.after_ttl_removals(&batch).await;
    assert!(failure.is_none());
    assert_eq!(report.records_expired, 2);
    assert_eq!(report.media_deleted, 1);
    assert_eq!(report.journal_deleted, 1);
    assert_eq!(report.bytes_freed, 7);
    assert_eq!(metrics.get("BytesFreed"), 7);
    // A replay (Lambda retries a stream batch) deletes absent objects: success again.
    let (replayed, failure) = expirer.after_ttl_removals(&batch).await;
    assert!(failure.is_none());
    assert_eq!(replayed.records_expired, 2);
    assert_eq!(
        objects.deletes.lock().unwrap().as_slice(),
        [
            "media/a.jpg",
            "journal/j.json",
            "media/a.jpg",
            "journal/j.json"
        ]
    );
}

#[tokio::test]
async fn a_failed_delete_reports_where_to_resume() {
    let (expirer, _, objects, _, _) = world(NOW, Objects::default());
    objects.fail_under(Some("media/b.jpg"));
    let batch = vec![
        removed("a", Some("media/a.jpg"), None),
        removed("b", Some("media/b.jpg"), None),
        removed("c", Some("media/c.jpg"), None),
    ];
    let (report, failure) = expirer.after_ttl_removals(&batch).await;
    let (index, error) = failure.expect("a failure");
    assert_eq!(index, 1);
    assert!(matches!(error, PortError::Unavailable { .. }));
    assert_eq!(report.records_expired, 1);
    assert_eq!(report.records_failed, 1);
    assert!(!objects
        .deletes
        .lock()
        .unwrap()
        .contains(&"media/c.jpg".to_owned()));

    // The retry from the failed record, once S3 is back, finishes the batch.
    objects.fail_under(None);
    let (report, failure) = expirer.after_ttl_removals(&batch[index..]).await;
    assert!(failure.is_none());
    assert_eq!(report.records_expired, 2);
}

#[test]
fn audit_keys_are_hashed() {
    let key = ItemKey::message("0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    let hashed = hashed_key(&key);
    assert_eq!(hashed.len(), 16);
    assert!(!key.pk.contains(&hashed) && !hashed.contains(&key.pk[..16]));
    assert_ne!(
        hashed,
        hashed_key(&ItemKey {
            pk: key.pk.clone(),
            sk: "status#read".to_owned()
        })
    );
}
