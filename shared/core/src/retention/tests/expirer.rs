//! The retention use case against in-memory ports with a fixed clock.

use super::*;
use crate::clock::FixedClock;
use crate::records::{ItemKey, ItemKind, StoredItem};
use crate::retention::{ExpiredItem, ExpiredPage, ExpiringRecords, PageCursor, EXPIRY_SHARDS};
use crate::testkit::memory::MemoryMetrics;
use async_trait::async_trait;
use std::collections::BTreeMap;

const HOUR: i64 = 3600;
const NOW: i64 = 1_800_000_000;

/// Items by key: (expires_at, item).
#[derive(Default)]
struct Table {
    items: Mutex<BTreeMap<(String, String), (i64, ExpiredItem)>>,
    checkpoint: Mutex<Option<i64>>,
    slots_read: Mutex<Vec<ExpirySlot>>,
}

impl Table {
    fn add(&self, pk: &str, expires_at: i64, media: Option<(&str, u64)>, journal: &str) {
        let item = ExpiredItem {
            key: ItemKey::message(pk),
            kind: Some(ItemKind::Message),
            media_key: media.map(|(k, _)| k.to_owned()),
            media_bytes: media.map(|(_, b)| b).unwrap_or(0),
            journal_key: Some(journal.to_owned()),
        };
        self.items
            .lock()
            .unwrap()
            .insert((pk.to_owned(), "message".to_owned()), (expires_at, item));
    }

    fn pks(&self) -> Vec<String> {
        self.items
            .lock()
            .unwrap()
            .keys()
            .map(|(w, _)| w.clone())
            .collect()
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
            .filter(|(at, item)| ExpirySlot::of(&item.key, *at) == slot && *at <= now)
            .filter(|(_, item)| cursor.as_ref().is_none_or(|c| item.key.pk > c.0.key.pk))
            .map(|(_, item)| item.key.clone())
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

    async fn delete_if_expired(
        &self,
        key: &ItemKey,
        now: i64,
    ) -> Result<Option<ExpiredItem>, PortError> {
        let mut items = self.items.lock().unwrap();
        let id = (key.pk.clone(), key.sk.clone());
        match items.get(&id) {
            Some((at, _)) if *at <= now => Ok(items.remove(&id).map(|(_, item)| item)),
            _ => Ok(None),
        }
    }

    async fn sweep_checkpoint(&self) -> Result<Option<i64>, PortError> {
        Ok(*self.checkpoint.lock().unwrap())
    }

    async fn set_sweep_checkpoint(&self, hour: i64) -> Result<(), PortError> {
        *self.checkpoint.lock().unwrap() = Some(hour);
        Ok(())
    }
}

#[derive(Default)]
struct Objects {
    present: Mutex<HashSet<String>>,
    deletes: Mutex<Vec<String>>,
    fail: Mutex<Option<String>>,
}

#[async_trait]
impl ArchiveObjects for Objects {
    async fn delete_all_versions(&self, key: &str) -> Result<(), PortError> {
        if self.fail.lock().unwrap().as_deref() == Some(key) {
            return Err(PortError::unavailable("s3", "SlowDown"));
        }
        self.deletes.lock().unwrap().push(key.to_owned());
        self.present.lock().unwrap().remove(key);
        Ok(())
    }
}

fn world(
    now: i64,
) -> (
    Expirer,
    Arc<Table>,
    Arc<Objects>,
    Arc<MemoryMetrics>,
    Arc<FixedClock>,
) {
    let table = Arc::new(Table::default());
    let objects = Arc::new(Objects::default());
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

#[tokio::test]
async fn the_sweep_deletes_what_expired_with_media_and_journal_and_nothing_else() {
    let (expirer, table, objects, metrics, _) = world(NOW);
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
    *table.checkpoint.lock().unwrap() = Some(RetentionPolicy::expiry_hour(NOW) - 3);

    let report = expirer.sweep().await.unwrap();

    assert_eq!(table.pks(), vec!["later-this-hour", "tomorrow"]);
    assert_eq!(report.records_expired, 4);
    assert_eq!(report.media_deleted, 2);
    assert_eq!(report.bytes_freed, 120);
    assert_eq!(report.journal_deleted, 3, "a shared journal object once");
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
        Some(RetentionPolicy::expiry_hour(NOW)),
        "the current hour is read again next time"
    );
}

#[tokio::test]
async fn the_sweep_reads_every_shard_of_the_hours_since_its_checkpoint() {
    let (expirer, table, _, _, clock) = world(NOW);
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
    let (expirer, table, _, _, _) = world(NOW);
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
    *table.checkpoint.lock().unwrap() = Some(RetentionPolicy::expiry_hour(NOW) - 2);
    let report = expirer.sweep().await.unwrap();
    assert_eq!(report.records_expired, 200);
    assert!(table.pks().is_empty());
}

#[tokio::test]
async fn a_second_sweep_and_a_replayed_ttl_batch_change_nothing() {
    let (expirer, table, objects, _, _) = world(NOW);
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

#[tokio::test]
async fn ttl_removals_delete_media_and_journal_once_per_batch() {
    let (expirer, _, objects, metrics, _) = world(NOW);
    let item = |pk: &str, media: Option<&str>| ExpiredItem {
        key: ItemKey::message(pk),
        kind: Some(ItemKind::Message),
        media_key: media.map(str::to_owned),
        media_bytes: if media.is_some() { 7 } else { 0 },
        journal_key: Some("journal/j.json".to_owned()),
    };
    let batch = vec![item("a", Some("media/a.jpg")), item("b", None)];
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
    let (expirer, _, objects, _, _) = world(NOW);
    *objects.fail.lock().unwrap() = Some("media/b.jpg".to_owned());
    let item = |pk: &str, media: &str| ExpiredItem {
        key: ItemKey::message(pk),
        kind: Some(ItemKind::Message),
        media_key: Some(media.to_owned()),
        media_bytes: 1,
        journal_key: None,
    };
    let batch = vec![
        item("a", "media/a.jpg"),
        item("b", "media/b.jpg"),
        item("c", "media/c.jpg"),
    ];
    let (report, failure) = expirer.after_ttl_removals(&batch).await;
    let (index, error) = failure.expect("a failure");
    assert_eq!(index, 1);
    assert!(matches!(error, PortError::Unavailable { .. }));
    assert_eq!(report.records_expired, 1);
    assert!(!objects
        .deletes
        .lock()
        .unwrap()
        .contains(&"media/c.jpg".to_owned()));
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
