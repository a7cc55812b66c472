//! Benchmark: erasure time for one contact with 1,000 messages and 100 archived media files, in
//! moto on loopback, through the real erase use case and its AWS adapters.
//!
//! Seeding goes straight through the SDK (BatchWriteItem, PutObject) with the items the webhook
//! writes: each message arrives in its own webhook body (as Meta usually sends them), so the
//! contact also has 1,000 journal objects and 1,000 journal links; every tenth message is an
//! image archived by the fetcher (`media_status = archived`, key, digest, size). Another
//! contact's 100 messages sit in the same table and must survive.
//!
//! Run: `cargo run -p wavault-tests --release --bin erase-bench` (options: `--messages N`,
//! `--media N`, `--media-bytes N`, `--concurrency N`, default 16 as in the `wavault` tool).

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use wavault_aws::contact_data::ContactClients as AwsClients;
use wavault_aws::contact_data::{self, ContactDataConfig};
use wavault_aws::dynamodb::record_item;
use wavault_core::clock::{Clock, SystemClock};
use wavault_core::contact::ContactHasher;
use wavault_core::contact::ContactIds;
use wavault_core::ingest::PlanContext;
use wavault_core::records;
use wavault_core::records::RecordKind;
use wavault_core::retention::RetentionPolicy;
use wavault_core::testkit::samples;
use wavault_tests::aws::sdk_config;
use wavault_tests::local_stack::LocalStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{meta_secret_json, CONTACT_HASH_KEY};

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CONTACT: &str = "15550003333";
const OTHER: &str = "15550004444";

struct Options {
    messages: usize,
    media: usize,
    media_bytes: usize,
    concurrency: usize,
}

fn options() -> BenchResult<Options> {
    let mut o = Options {
        messages: 1000,
        media: 100,
        media_bytes: 64 * 1024,
        concurrency: wavault_core::contact::CONCURRENCY,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).ok_or("option without a value")?.parse()?;
        match pair[0].as_str() {
            "--messages" => o.messages = value,
            "--media" => o.media = value,
            "--media-bytes" => o.media_bytes = value,
            "--concurrency" => o.concurrency = value,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(o)
}

type DdbItem = HashMap<String, AttributeValue>;
/// An object to put: key and body.
type Object = (String, Vec<u8>);

/// Items (records and links) and the journal object of one single-message webhook.
fn webhook(
    wa_id: &str,
    index: usize,
    media: bool,
    media_bytes: usize,
    hasher: &ContactHasher,
    now: i64,
) -> BenchResult<(Vec<DdbItem>, Object, Option<Object>)> {
    let wamid = format!("wamid.bench.{wa_id}.{index}");
    let message = if media {
        samples::media_message(
            &wamid,
            wa_id,
            "image",
            &format!("{}{index:06}", &wa_id[7..]),
            "image/jpeg",
        )
    } else {
        samples::text_message(&wamid, wa_id, "Olá, this is a benchmark message ☕")
    };
    let body = samples::messages_body(wa_id, vec![message]);
    let sha = records::body_sha256_hex(&body);
    let key = records::journal_key(&sha, true);
    let notification = wavault_core::webhook::parse_notification(&body)?;
    let plan = wavault_core::ingest::plan(
        &notification,
        &PlanContext {
            received_at: now,
            retention: RetentionPolicy::days(30),
            hasher,
            journal_key: &key,
            body_sha256_hex: &sha,
            media_deadline_days: 7,
            people: &wavault_core::contact::HashedPeople::of(
                &wavault_core::contact::mentions(&body),
                hasher,
            ),
        },
    );
    let mut items = Vec::new();
    let mut object = None;
    for record in &plan.records {
        let mut item = record_item(record)?;
        if let (RecordKind::Message, Some(job)) = (record.kind, record.media_job()) {
            let data: Vec<u8> = (0..media_bytes).map(|i| (i + index) as u8).collect();
            let media_key = wavault_core::media::media_key(&job, None);
            item.insert("media_status".into(), AttributeValue::S("archived".into()));
            item.insert("media_key".into(), AttributeValue::S(media_key.clone()));
            item.insert(
                "media_sha256".into(),
                AttributeValue::S(records::body_sha256_hex(&data)),
            );
            item.insert(
                "media_bytes".into(),
                AttributeValue::N(data.len().to_string()),
            );
            item.insert("archived_at".into(), AttributeValue::N(now.to_string()));
            item.remove("pending_shard");
            object = Some((media_key, data));
        }
        items.push(item);
    }
    Ok((items, (key, body), object))
}

async fn put_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> BenchResult {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await?;
    Ok(())
}

async fn seed(
    clients: &AwsClients,
    stack: &LocalStack,
    wa_id: &str,
    o: &Options,
    hasher: &ContactHasher,
) -> BenchResult<(usize, usize)> {
    let now = SystemClock.now_epoch_seconds();
    let every = (o.messages / o.media.max(1)).max(1);
    let mut items = Vec::new();
    let mut objects = Vec::new();
    for index in 0..o.messages {
        let media = o.media > 0 && index % every == 0 && index / every < o.media;
        let (mut its, journal, media) = webhook(wa_id, index, media, o.media_bytes, hasher, now)?;
        items.append(&mut its);
        objects.push(journal);
        objects.extend(media);
    }
    for chunk in items.chunks(25) {
        let mut requests = Vec::with_capacity(chunk.len());
        for item in chunk {
            let put = PutRequest::builder().set_item(Some(item.clone())).build()?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        while !requests.is_empty() {
            let output = clients
                .dynamodb
                .batch_write_item()
                .request_items(&stack.table, requests)
                .send()
                .await?;
            requests = output
                .unprocessed_items()
                .and_then(|u| u.get(&stack.table))
                .cloned()
                .unwrap_or_default();
        }
    }
    let count = (items.len(), objects.len());
    let s3 = &clients.s3;
    futures::future::try_join_all(
        objects
            .into_iter()
            .map(|(key, body)| async move { put_object(s3, &stack.bucket, &key, body).await }),
    )
    .await?;
    Ok(count)
}

#[tokio::main]
async fn main() -> BenchResult {
    let o = options()?;
    let moto = MotoServer::start()?;
    let sdk = sdk_config(&moto.endpoint());
    let stack =
        LocalStack::provision(&sdk, "erase-bench", &meta_secret_json(), CONTACT_HASH_KEY).await?;
    let clients = AwsClients::new(&sdk);
    let hasher = ContactHasher::new(CONTACT_HASH_KEY);

    let started = Instant::now();
    let (items, objects) = seed(&clients, &stack, CONTACT, &o, &hasher).await?;
    let other = Options {
        messages: 100,
        media: 10,
        media_bytes: o.media_bytes,
        concurrency: 1,
    };
    seed(&clients, &stack, OTHER, &other, &hasher).await?;
    println!(
        "seeded {items} items and {objects} objects for the contact (+ another contact's 100 messages) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let config = ContactDataConfig {
        records_table: stack.table.clone(),
        archive_bucket: stack.bucket.clone(),
        contact_hash_secret_id: stack.contact_hash_secret_id.clone(),
        kms_key_id: None,
    };
    let hasher = contact_data::contact_hasher(&clients, &config.contact_hash_secret_id).await?;
    let metrics = Arc::new(wavault_core::metrics::EmfMetrics::new("erase-bench"));
    let mut eraser = contact_data::eraser(&config, &clients, hasher, metrics);
    eraser.concurrency = o.concurrency;
    let contact = ContactIds {
        wa_id: Some(CONTACT.to_owned()),
        user_id: None,
        parent_user_id: None,
    };
    let started = Instant::now();
    let report = eraser.erase(&contact).await?;
    let elapsed = started.elapsed();
    let again = eraser.erase(&contact).await?;
    if report.records_erased != o.messages as u64
        || report.media_objects_deleted != o.media as u64
        || again.records_erased != 0
    {
        return Err(format!("unexpected erasure: {report:?} then {again:?}").into());
    }
    println!(
        "erased {} messages, {} media files ({:.1} MiB), {} journal objects, {} links in {:.2} s \
         ({:.2} ms per message) against moto on loopback",
        report.records_erased,
        report.media_objects_deleted,
        report.bytes_freed as f64 / (1024.0 * 1024.0),
        report.journal_objects_deleted,
        report.journal_links_erased,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / report.records_erased.max(1) as f64,
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!(
        "command: cargo run -p wavault-tests --release --bin erase-bench{}{}",
        if args.is_empty() { "" } else { " -- " },
        args.join(" ")
    );
    Ok(())
}
