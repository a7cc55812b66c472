//! Benchmark: the retention sweep's cost against the table size. Seeds a table provisioned from
//! the template (in moto) with N realistic message items of which 1,000 have expired (100 of them
//! with a media object), runs the real sweep (domain + DynamoDB/S3 adapters) and reports items
//! deleted per second and the read/write capacity units per 1,000 expired items.
//!
//! Capacity units are computed from the operations the sweep made and the sizes of the items it
//! touched, by DynamoDB's on-demand rules (moto reports no real consumed capacity): a Query costs
//! 0.5 RRU per started 4 KB of index entries read (eventually consistent, minimum 0.5), a
//! DeleteItem 1 WRU per started 1 KB of the item plus the same for each index holding it, one
//! whose condition fails (the sweep's read of an item that still points at objects) 1 WRU per
//! started 1 KB of the item, the checkpoint a strongly consistent read and a write.
//!
//! Run: `make bench-retention` (`cargo run --release -p wavault-tests --bin retention-bench`;
//! `RETENTION_BENCH_ITEMS=10000,100000` by default).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use wavault_aws::expiry_dynamodb::DynamoExpiringRecords;
use wavault_aws::s3::S3ArchiveObjects;
use wavault_core::clock::FixedClock;
use wavault_core::contact::{ContactHasher, RecordIdKind};
use wavault_core::error::PortError;
use wavault_core::records::ItemKey;
use wavault_core::retention::{
    ExpiredItem, ExpiredLookup, ExpiredPage, Expirer, ExpiringRecords, PageCursor,
};
use wavault_core::retention::{ExpirySlot, RetentionPolicy};
use wavault_core::testkit::memory::MemoryMetrics;
use wavault_tests::aws::{dynamodb_client, s3_client, sdk_config};
use wavault_tests::local_stack::LocalStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::CONTACT_HASH_KEY;

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const NOW: i64 = 1_800_000_000;
const EXPIRED: usize = 1_000;
const EXPIRED_WITH_MEDIA: usize = 100;

/// DynamoDB's item size: attribute names plus values (numbers about 1 byte per 2 digits + 1).
fn item_size(item: &HashMap<String, AttributeValue>) -> u64 {
    item.iter()
        .map(|(name, value)| {
            name.len() as u64
                + match value {
                    AttributeValue::S(s) => s.len() as u64,
                    AttributeValue::N(n) => (n.len() as u64).div_ceil(2) + 1,
                    _ => 1,
                }
        })
        .sum()
}

fn units(bytes: u64, unit: u64) -> u64 {
    bytes.div_ceil(unit).max(1)
}

/// A message item as the webhook writes it (text or media, contact hashed, raw element kept).
fn message_item(
    index: usize,
    expires_at: i64,
    media_key: Option<&str>,
) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: i64| AttributeValue::N(v.to_string());
    let wamid = format!("wamid.HBgLMTU1NTAwMDAwMDAVAgASGBQzQUJCRjBFQjU5RDk{index:08}");
    let raw = format!(
        r#"{{"from":"1555{index:07}","id":"{wamid}","timestamp":"1799999999","type":"text","text":{{"body":"Hello, this is message number {index} of the retention benchmark."}}}}"#
    );
    // Keyed as the webhook keys it: the wamid's keyed hash, in its slot of the expiry index.
    let key = ItemKey::message(
        &ContactHasher::new(CONTACT_HASH_KEY).record_key(RecordIdKind::Message, &wamid),
    );
    let mut item = HashMap::from([
        ("pk".to_owned(), s(&key.pk)),
        ("sk".to_owned(), s("message")),
        ("kind".to_owned(), s("message")),
        ("received_at".to_owned(), n(expires_at - 30 * 86_400)),
        ("expires_at".to_owned(), n(expires_at)),
        (
            "expiry_slot".to_owned(),
            s(&ExpirySlot::of(&key, expires_at).to_string()),
        ),
        (
            "journal_key".to_owned(),
            s(&format!("journal/{:064x}.json", index)),
        ),
        ("raw".to_owned(), s(&raw)),
        ("phone_number_id".to_owned(), s("106540352242922")),
        ("waba_id".to_owned(), s("102290129340398")),
        (
            "contact_wa_hash".to_owned(),
            s(&format!("{:032x}", index * 7919)),
        ),
        ("type".to_owned(), s("text")),
    ]);
    if let Some(key) = media_key {
        item.insert("type".to_owned(), s("image"));
        item.insert("media_id".to_owned(), s(&format!("{}", 900_000 + index)));
        item.insert("media_status".to_owned(), s("archived"));
        item.insert("media_key".to_owned(), s(key));
        item.insert("media_bytes".to_owned(), n(1024));
        item.insert("media_sha256".to_owned(), s(&"ab".repeat(32)));
    }
    item
}

/// Counts what the sweep asks of DynamoDB, with the sizes it touches.
struct Counted {
    inner: DynamoExpiringRecords,
    sizes: HashMap<String, (u64, u64)>,
    read_units_x2: AtomicU64,
    write_units: AtomicU64,
    queries: AtomicU64,
    deletes: AtomicU64,
}

#[async_trait]
impl ExpiringRecords for Counted {
    async fn expired_in_slot(
        &self,
        slot: ExpirySlot,
        now: i64,
        cursor: Option<PageCursor>,
    ) -> Result<ExpiredPage, PortError> {
        let page = self.inner.expired_in_slot(slot, now, cursor).await?;
        // Index entries: table keys + index keys (about 80 bytes each here).
        let bytes: u64 = page
            .keys
            .iter()
            .map(|k| k.pk.len() as u64 + k.sk.len() as u64 + 40)
            .sum();
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.read_units_x2
            .fetch_add(units(bytes, 4096), Ordering::Relaxed);
        Ok(page)
    }

    async fn expired_item(&self, key: &ItemKey, now: i64) -> Result<ExpiredLookup, PortError> {
        let lookup = self.inner.expired_item(key, now).await?;
        let (table_bytes, index_entries) = self.sizes.get(&key.pk).copied().unwrap_or((1, 0));
        // A conditional delete: the item and its index entries when it went, the item when
        // the condition failed.
        let units = match lookup {
            ExpiredLookup::Deleted(_) => {
                self.deletes.fetch_add(1, Ordering::Relaxed);
                units(table_bytes, 1024) + index_entries
            }
            ExpiredLookup::Holding(_) | ExpiredLookup::NotExpired => units(table_bytes, 1024),
        };
        self.write_units.fetch_add(units, Ordering::Relaxed);
        Ok(lookup)
    }

    async fn delete_if_unchanged(&self, item: &ExpiredItem) -> Result<bool, PortError> {
        let deleted = self.inner.delete_if_unchanged(item).await?;
        let (table_bytes, index_entries) = self.sizes.get(&item.key.pk).copied().unwrap_or((1, 0));
        let mut units = units(table_bytes, 1024);
        if deleted {
            self.deletes.fetch_add(1, Ordering::Relaxed);
            units += index_entries;
        }
        self.write_units.fetch_add(units, Ordering::Relaxed);
        Ok(deleted)
    }

    async fn sweep_checkpoint(&self) -> Result<Option<i64>, PortError> {
        self.read_units_x2.fetch_add(2, Ordering::Relaxed);
        self.inner.sweep_checkpoint().await
    }

    async fn set_sweep_checkpoint(&self, hour: i64) -> Result<(), PortError> {
        self.write_units.fetch_add(1, Ordering::Relaxed);
        self.inner.set_sweep_checkpoint(hour).await
    }
}

async fn run(moto: &MotoServer, total: usize) -> BenchResult {
    let sdk = sdk_config(&moto.endpoint());
    let stack = LocalStack::provision(&sdk, &format!("rb-{total}"), "{}", CONTACT_HASH_KEY).await?;
    let dynamodb = dynamodb_client(&sdk);
    let s3 = s3_client(&sdk);

    // 1 % expired, spread over the last 24 hours; the rest expire over the next 30 days.
    let mut sizes = HashMap::new();
    let mut items = Vec::with_capacity(total);
    for index in 0..total {
        let expired = index % (total / EXPIRED) == 0;
        let expires_at = if expired {
            NOW - 60 - (index as i64 % 86_400)
        } else {
            NOW + 60 + (index as i64 * 2_591) % (30 * 86_400)
        };
        let media_key = (expired
            && (index / (total / EXPIRED)) % (EXPIRED / EXPIRED_WITH_MEDIA) == 0)
            .then(|| format!("media/106540352242922/2027/01/15/{index}.jpg"));
        let item = message_item(index, expires_at, media_key.as_deref());
        if let (true, Some(AttributeValue::S(pk))) = (expired, item.get("pk")) {
            // In by-expiry-hour and by-contact-wa.
            sizes.insert(pk.clone(), (item_size(&item), 2));
        }
        if let Some(key) = media_key {
            s3.put_object()
                .bucket(&stack.bucket)
                .key(key)
                .body(vec![0u8; 1024].into())
                .send()
                .await?;
        }
        items.push(item);
    }
    let seeding = Instant::now();
    let table = stack.table.clone();
    stream::iter(items.chunks(25).map(|chunk| chunk.to_vec()))
        .map(|chunk| {
            let (dynamodb, table) = (dynamodb.clone(), table.clone());
            async move {
                let mut requests = Vec::with_capacity(chunk.len());
                for item in chunk {
                    let put = PutRequest::builder().set_item(Some(item)).build()?;
                    requests.push(WriteRequest::builder().put_request(put).build());
                }
                dynamodb
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
        .buffer_unordered(4)
        .try_collect::<()>()
        .await?;
    eprintln!(
        "seeded {total} items in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let records = Arc::new(Counted {
        inner: DynamoExpiringRecords::new(dynamodb.clone(), stack.table.clone()),
        sizes,
        read_units_x2: AtomicU64::new(0),
        write_units: AtomicU64::new(0),
        queries: AtomicU64::new(0),
        deletes: AtomicU64::new(0),
    });
    // The deployment's first sweep would look back 7 days; a running one reads the hours since
    // its last run. Start from a checkpoint 25 hours back (the expired items span 24 hours).
    records
        .inner
        .set_sweep_checkpoint(RetentionPolicy::expiry_hour(NOW) - 25)
        .await?;
    let expirer = Expirer {
        records: records.clone(),
        objects: Arc::new(S3ArchiveObjects::new(s3.clone(), stack.bucket.clone())),
        clock: Arc::new(FixedClock::at(NOW)),
        metrics: Arc::new(MemoryMetrics::default()),
    };
    let started = Instant::now();
    let report = expirer.sweep().await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut remaining = 0;
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(&stack.table)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        remaining += page.count();
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    let per_thousand = |units: f64| units * 1000.0 / report.records_expired.max(1) as f64;
    println!(
        "| {total} | {} | {} | {} | {:.2} s | {:.0} | {} | {:.1} | {:.1} |",
        report.records_expired,
        report.media_deleted,
        remaining,
        seconds,
        report.records_expired as f64 / seconds,
        records.queries.load(Ordering::Relaxed),
        per_thousand(records.read_units_x2.load(Ordering::Relaxed) as f64 / 2.0),
        per_thousand(records.write_units.load(Ordering::Relaxed) as f64),
    );
    if report.records_expired != EXPIRED as u64 || remaining != (total - EXPIRED + 1) as i32 {
        return Err(format!("expected {EXPIRED} deleted and the rest kept: {report:?}").into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> BenchResult {
    let sizes: Vec<usize> = std::env::var("RETENTION_BENCH_ITEMS")
        .unwrap_or_else(|_| "10000,100000".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let moto = MotoServer::start()?;
    println!("| table items | expired deleted | media deleted | items left | sweep wall (moto) | items/s (moto) | queries | RRU per 1,000 expired | WRU per 1,000 expired |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for total in sizes {
        run(&moto, total).await?;
    }
    Ok(())
}
