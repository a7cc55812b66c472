//! `make demo`: the whole ingest pipeline on this machine, against moto and the real webhook
//! binary, showing what happens to each kind of webhook.
//!
//! Usage: `demo` (run the scenario and exit), `demo --serve` (run it, then stay up: sample bodies
//! are written to `target/demo-serve/`, every request to the printed webhook URL prints one line
//! saying what was stored, and media is archived by the real fetcher), `demo sign FILE` (print
//! the X-Hub-Signature-256 header for a body, signed with the demo's app secret).
//! With `AWS_ENDPOINT_URL` set, the demo uses that emulator instead of starting moto; with
//! `GRAPH_API_BASE_URL` set, the functions are pointed at that Graph API.

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wavault_core::records::ItemKey;
use wavault_core::retention::ExpirySlot;
use wavault_core::testkit::samples;
use wavault_tests::fake_graph::MediaBehaviour;
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{n, s, APP_SECRET, VERIFY_TOKEN};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CONTACT_A: &str = "15550001111";
const CONTACT_B: &str = "15550002222";

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
}

async fn run() -> DemoResult {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("sign") {
        let path = args.get(1).ok_or("usage: demo sign FILE")?;
        let body = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        println!(
            "{}",
            wavault_core::webhook::signature::signature_header(APP_SECRET.as_bytes(), &body)
        );
        return Ok(());
    }
    let serve = args.iter().any(|a| a == "--serve");

    // 1. Emulated AWS: the given endpoint, or our own moto on a free loopback port.
    let (_moto, endpoint) = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(endpoint) if !endpoint.is_empty() => (None, endpoint),
        _ => {
            let moto = MotoServer::start()?;
            let endpoint = moto.endpoint();
            (Some(moto), endpoint)
        }
    };
    let suffix = format!(
        "demo-{}",
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 1_000_000
    );
    heading("Local stack");
    println!("AWS emulator      {endpoint}");
    let media = Arc::new(MediaStack::start(&endpoint, &suffix).await?);
    let w = &media.webhook;
    println!(
        "records table     {} (TTL on expires_at, stream on)",
        w.stack.table
    );
    println!("archive bucket    {}", w.stack.bucket);
    println!("media queue       {}", w.stack.queue_url);
    println!("webhook (real binary under a Lambda Runtime API emulator)");
    println!("                  {}", w.webhook_url());

    // 2. What Meta sends.
    heading("Meta -> webhook");
    let handshake = w.handshake(VERIFY_TOKEN, "1158201444").await?;
    step(
        "GET  verification handshake",
        handshake.status,
        &format!("body {:?}", handshake.body),
    );
    let wrong = w.handshake("guessed-token", "1158201444").await?;
    step(
        "GET  handshake, wrong verify token",
        wrong.status,
        "refused",
    );

    // The media the fake Graph API serves (made-up bytes), and the digests Meta would put in the
    // webhook's `sha256`: the real SHA-256 of those bytes.
    let media_files = [
        ("880001", 180_000, "image/jpeg"),
        ("880002", 2_400_000, "application/pdf"),
        ("9000001", 45_000, "image/jpeg"),
        ("9000004", 61_000, "image/jpeg"),
        ("9000007", 9_500_000, "image/jpeg"),
        ("9000010", 12_000, "image/jpeg"),
    ];
    let mut digests = HashMap::new();
    for (seed, (id, size, mime)) in media_files.into_iter().enumerate() {
        digests.insert(
            id.to_owned(),
            serve_media(&media, id, size, seed as u8, mime),
        );
    }
    media
        .graph
        .set_valid_tokens(&[wavault_tests::webhook_stack::ACCESS_TOKEN]);

    let text = samples::text_body("wamid.DEMO.TEXT", CONTACT_A, "Olá! Is my order ready? ☕");
    let image = samples::messages_body(
        CONTACT_A,
        vec![samples::media_message(
            "wamid.DEMO.IMAGE",
            CONTACT_A,
            "image",
            "880001",
            "image/jpeg",
        )],
    );
    let document = samples::messages_body(
        CONTACT_B,
        vec![samples::media_message(
            "wamid.DEMO.DOC",
            CONTACT_B,
            "document",
            "880002",
            "application/pdf",
        )],
    );
    let status = samples::statuses_body(vec![
        samples::status("wamid.DEMO.OUT1", CONTACT_A, "delivered"),
        samples::status("wamid.DEMO.OUT1", CONTACT_A, "read"),
    ]);
    let batch = samples::batch_body(12);
    let (image, document, batch) = (
        with_digests(&image, &digests)?,
        with_digests(&document, &digests)?,
        with_digests(&batch, &digests)?,
    );
    let unknown = samples::messages_body(
        CONTACT_B,
        vec![
            json!({"from": CONTACT_B, "id": "wamid.DEMO.NEW", "timestamp": "1763800000", "type": "hologram", "hologram": {"depth": 3}}),
        ],
    );
    let not_json = b"this body is signed but is not JSON".to_vec();

    let signed_posts = [
        ("POST text message", &text),
        ("POST image message", &image),
        ("POST document message", &document),
        ("POST two statuses (delivered, read)", &status),
        ("POST batch of 12 updates", &batch),
        ("POST unknown message type", &unknown),
        ("POST signed body that is not JSON", &not_json),
        ("POST image message again (redelivery)", &image),
    ];
    for (label, body) in signed_posts {
        let answer = w.post_signed(body).await?;
        step(label, answer.status, &answer.body);
    }
    let forged = w.post(&text, Some("attacker-guess")).await?;
    step("POST forged signature", forged.status, &forged.body);
    let unsigned = w.post(&text, None).await?;
    step("POST no signature", unsigned.status, &unsigned.body);

    // 3. What is stored.
    heading("DynamoDB records");
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let mut items = w.records().await?;
    items.sort_by_key(|i| (element_id(i), s(i, "sk").map(str::to_owned)));
    println!(
        "{:<14} {:<18} {:<16} {:<8} {:<10} {:<9} {:<12} contact",
        "pk", "id (in raw)", "sk", "kind", "type", "media", "expires in"
    );
    for item in &items {
        println!(
            "{:<14} {:<18} {:<16} {:<8} {:<10} {:<9} {:<12} {}",
            short(s(item, "pk")),
            element_id(item).unwrap_or_else(|| "-".to_owned()),
            s(item, "sk").unwrap_or("-"),
            s(item, "kind").unwrap_or("-"),
            s(item, "type").or(s(item, "status")).unwrap_or("-"),
            s(item, "media_status").unwrap_or("-"),
            n(item, "expires_at")
                .map(|e| format!("{:.1} days", (e - now) as f64 / 86_400.0))
                .unwrap_or_default(),
            s(item, "contact_wa_hash")
                .map(|h| format!("hash {}…", &h[..12.min(h.len())]))
                .unwrap_or_default(),
        );
    }
    let kinds = items.iter().fold(HashMap::new(), |mut m, i| {
        *m.entry(s(i, "kind").unwrap_or("-")).or_insert(0) += 1;
        m
    });
    println!("{} items: {:?}", items.len(), kinds);
    println!(
        "pk: a keyed hash (HMAC with the contact-hash key) of the message id, never the wamid itself \
         (a wamid embeds the contact's phone number); the id is only inside raw, which export returns"
    );
    println!(
        "+ {} journal links (contact hash -> journal object, for erasure)",
        w.journal_links().await?.len()
    );

    heading("S3 journal (content-addressed raw bodies)");
    let journal = w.keys("journal/").await?;
    for key in &journal {
        println!("{key}");
    }
    println!(
        "{} objects for {} signed POSTs: the redelivery added none",
        journal.len(),
        signed_posts.len()
    );

    heading("SQS media jobs (ids and metadata only)");
    let jobs = media.peek_jobs().await?;
    for job in &jobs {
        println!("{job}");
    }
    println!(
        "{} jobs: the redelivered image's media was still pending, so its job went out again \
         (a dedupe never hides a lost job; the fetcher treats an archived record as done).\n\
         The forged and unsigned POSTs stored nothing anywhere.",
        jobs.len()
    );

    // 4. The media fetcher: the real binary, fed the queue as Lambda's event source mapping does,
    //    downloading from the fake Graph API (the bytes are made up here).
    heading("Media fetcher: Graph -> S3, verified");
    loop {
        let round = media.fetch_round().await?;
        if round.media_ids.is_empty() {
            break;
        }
        println!(
            "fetcher invocation: {} job(s), {} to retry",
            round.media_ids.len(),
            round.retried.len()
        );
    }
    let mut archived = w.items().await?;
    archived.retain(|i| s(i, "media_status").is_some());
    archived.sort_by_key(element_id);
    for item in &archived {
        let verified = match (s(item, "media_sha256"), s(item, "media_key")) {
            (Some(sha), Some(key)) => {
                let object = w.object(key).await?;
                if wavault_core::records::body_sha256_hex(&object) == sha {
                    "sha256 verified"
                } else {
                    "SHA256 MISMATCH"
                }
            }
            _ => "-",
        };
        println!(
            "{:<18} {:<9} {:<66} {:>9} bytes  {}",
            element_id(item).unwrap_or_else(|| "-".to_owned()),
            s(item, "media_status").unwrap_or("-"),
            s(item, "media_key").unwrap_or("-"),
            n(item, "media_bytes").unwrap_or(0),
            verified
        );
    }

    // 5. Retention: the real ttl-expirer binary. Waiting out RETENTION_DAYS is not a demo, so the
    //    image's expiry is moved an hour into the past, as the clock would have done.
    heading("Retention: an expired record takes its media and journal with it");
    let expirer = wavault_tests::webhook_stack::spawn_function(
        "ttl-expirer",
        &w.stack,
        &endpoint,
        &media.graph.base_url(),
        &[],
    )?;
    let expiring = media
        .record("wamid.DEMO.DOC")
        .await?
        .ok_or("the document record")?;
    let (media_key, journal_key) = (
        s(&expiring, "media_key").unwrap_or_default().to_owned(),
        s(&expiring, "journal_key").unwrap_or_default().to_owned(),
    );
    let past = now - 3_600;
    let doc_key = ItemKey::message(&w.stack.message_key("wamid.DEMO.DOC"));
    w.dynamodb
        .update_item()
        .table_name(&w.stack.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(doc_key.pk.clone()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(doc_key.sk.clone()),
        )
        .update_expression("SET expires_at = :at, expiry_slot = :slot")
        .expression_attribute_values(
            ":at",
            aws_sdk_dynamodb::types::AttributeValue::N(past.to_string()),
        )
        .expression_attribute_values(
            ":slot",
            aws_sdk_dynamodb::types::AttributeValue::S(ExpirySlot::of(&doc_key, past).to_string()),
        )
        .send()
        .await?;
    println!(
        "wamid.DEMO.DOC     expires_at moved to an hour ago (TTL would remove it within days)"
    );
    // As if the hourly sweep had last run two hours ago (see below for a first sweep).
    w.set_sweep_checkpoint(past.div_euclid(3600) - 1).await?;
    let swept = expirer
        .invoke(json!({"action": "sweep"}))
        .await?
        .ok()
        .ok_or("the sweep failed")?;
    println!("hourly sweep      -> {swept}");
    println!(
        "                  (hours_swept: the sweep reads the by-expiry-hour index one hour at a time, every one \
         of its {} shards, from its checkpoint to now: {} hours here, as if it last ran two hours ago; the \
         hourly sweep reads one or two; a deployment's first sweep has no checkpoint and looks back {} hours, \
         {} index queries, seconds on DynamoDB and over a minute on moto, which scans the table for each)",
        wavault_core::retention::EXPIRY_SHARDS,
        swept["hours_swept"],
        wavault_core::retention::FIRST_SWEEP_LOOKBACK_HOURS,
        (wavault_core::retention::FIRST_SWEEP_LOOKBACK_HOURS + 1)
            * i64::from(wavault_core::retention::EXPIRY_SHARDS)
    );
    let present = |key: String| async move {
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(w.keys(&key).await?.contains(&key))
    };
    println!(
        "record {}, media object {}, journal object {}",
        if media.record("wamid.DEMO.DOC").await?.is_some() {
            "still there"
        } else {
            "deleted"
        },
        if present(media_key.clone()).await? {
            "still there"
        } else {
            "deleted"
        },
        if present(journal_key.clone()).await? {
            "still there"
        } else {
            "deleted"
        },
    );
    let audit = expirer
        .logs()
        .into_iter()
        .find(|l| l.contains("retention_audit"))
        .and_then(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .map(|entry| entry["fields"].to_string())
        .unwrap_or_default();
    println!("audit (no personal data): {audit}");

    // 6. A contact's rights: the `wavault` operator tool (the real binary, against the same stack).
    heading("Erasure and export of one contact (wavault erase / export)");
    let tool = wavault_tests::webhook_stack::function_binary("wavault")?;
    let env = w.stack.function_env(
        wavault_tests::iam::Principal::Operator,
        &endpoint,
        "http://127.0.0.1:9",
    )?;
    let export_dir = std::env::temp_dir().join(format!("wavault-demo-export-{suffix}"));
    let export = std::process::Command::new(&tool)
        .args(["export", "--wa-id", CONTACT_A, "--out"])
        .arg(&export_dir)
        .env_clear()
        .envs(env.clone())
        .output()?;
    println!(
        "wavault export --wa-id <contact A> --out {}\n  -> {}",
        export_dir.display(),
        String::from_utf8_lossy(&export.stdout).trim()
    );
    println!(
        "  the folder holds: {}",
        files_under(&export_dir, &export_dir).join(", ")
    );
    std::fs::remove_dir_all(&export_dir)?;
    println!(
        "  (the demo removes {} now: `wavault export --out DIR` against your stack keeps it)",
        export_dir.display()
    );
    let erase = std::process::Command::new(&tool)
        .args(["erase", "--wa-id", CONTACT_A, "--concurrency", "1"])
        .env_clear()
        .envs(env.clone())
        .output()?;
    println!(
        "wavault erase --wa-id <contact A>\n  -> {}",
        String::from_utf8_lossy(&erase.stdout).trim()
    );
    let again = std::process::Command::new(&tool)
        .args(["erase", "--wa-id", CONTACT_A, "--concurrency", "1"])
        .env_clear()
        .envs(env)
        .output()?;
    println!(
        "the same erase again (idempotent)\n  -> {}",
        String::from_utf8_lossy(&again.stdout).trim()
    );
    let image_now = media.record("wamid.DEMO.IMAGE").await?;
    println!(
        "wamid.DEMO.IMAGE is now {} (a tombstone keeps a redelivery from recreating it); \
         {} records of other contacts are untouched",
        image_now
            .as_ref()
            .and_then(|i| s(i, "kind"))
            .unwrap_or("gone"),
        w.records()
            .await?
            .iter()
            .filter(|i| s(i, "kind") != Some("erased"))
            .count()
    );

    // 7. Every AWS call above went through the IAM gateway, checked against the template's roles.
    heading("IAM: every AWS call checked against its role in infra/template.yaml");
    let calls = w.stack.gateway()?.calls(&w.stack.suffix);
    let mut per_principal: std::collections::BTreeMap<String, (usize, usize)> =
        std::collections::BTreeMap::new();
    for call in &calls {
        let entry = per_principal.entry(call.principal.to_string()).or_default();
        entry.0 += 1;
        if call.answer != "forwarded" {
            entry.1 += 1;
        }
    }
    for (principal, (total, denied)) in &per_principal {
        println!("{principal:<14} {total:>4} calls, {denied} denied");
    }
    println!(
        "(a denied call is answered as AWS answers it: the demo runs under the permissions that deploy)"
    );

    if serve {
        serve_forever(media, &endpoint).await?;
    }
    Ok(())
}

/// The element's own id (a wamid, for messages and statuses), read from `raw`: the item key is
/// its keyed hash.
fn element_id(item: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> Option<String> {
    let raw: Value = serde_json::from_str(s(item, "raw")?).ok()?;
    raw["id"].as_str().map(str::to_owned)
}

/// The first 12 characters of a key, for a table that fits the terminal.
fn short(value: Option<&str>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{}…", &v[..12.min(v.len())]))
}

fn heading(title: &str) {
    println!(
        "\n== {title} {}",
        "=".repeat(70usize.saturating_sub(title.len()))
    );
}

fn step(label: &str, status: u16, detail: &str) {
    println!("{label:<42} -> {status} {detail}");
}

/// Makes the fake Graph API serve `size` made-up bytes as `media_id`; returns their SHA-256 as
/// Meta writes it in a webhook (base64).
fn serve_media(media: &MediaStack, media_id: &str, size: usize, seed: u8, mime: &str) -> String {
    let bytes: Vec<u8> = (0..size)
        .map(|b| (b as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    media
        .graph
        .add_media(media_id, bytes, mime, MediaBehaviour::Ok);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// The media objects of a webhook body's messages (`image`, `document`, ... with an `id`).
fn media_objects(body: &mut Value) -> Vec<&mut Value> {
    let mut found = Vec::new();
    let entries = body.get_mut("entry").and_then(Value::as_array_mut);
    for entry in entries.into_iter().flatten() {
        let changes = entry.get_mut("changes").and_then(Value::as_array_mut);
        for change in changes.into_iter().flatten() {
            let messages = change
                .get_mut("value")
                .and_then(|v| v.get_mut("messages"))
                .and_then(Value::as_array_mut);
            for message in messages.into_iter().flatten() {
                let kind = message["type"].as_str().unwrap_or_default().to_owned();
                if let Some(object) = message.get_mut(&kind) {
                    if object.get("id").is_some() {
                        found.push(object);
                    }
                }
            }
        }
    }
    found
}

/// `body` with each media message's `sha256` set to the real digest of what Graph serves for it.
fn with_digests(body: &[u8], digests: &HashMap<String, String>) -> DemoResult<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(body)?;
    for object in media_objects(&mut value) {
        let digest = object["id"]
            .as_str()
            .and_then(|id| digests.get(id))
            .cloned();
        if let Some(digest) = digest {
            object["sha256"] = json!(digest);
        }
    }
    Ok(serde_json::to_vec(&value)?)
}

/// The files under `dir`, relative to `root`.
fn files_under(root: &Path, dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(root, &path));
        } else {
            files.push(shown_in(root, &path));
        }
    }
    files.sort();
    files
}

fn shown_in(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A path as the user types it from the current directory.
fn shown(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) => shown_in(&cwd, path),
        Err(_) => path.display().to_string(),
    }
}

// ---- serve mode ---------------------------------------------------------------------------------

/// Media the sample bodies written for serve mode refer to (served by the fake Graph API).
const SERVE_IMAGE_ID: &str = "880100";
const SERVE_DOCUMENT_ID: &str = "880101";

/// What serve mode has already reported: each record's media status, and the journal objects.
#[derive(Default)]
struct Seen {
    records: HashMap<(String, String), Option<String>>,
    journal: HashSet<String>,
}

/// What changed in the stores since the last look.
#[derive(Default)]
struct Changes {
    /// New records, as `kind type` (e.g. `message image`, `status read`).
    records: Vec<String>,
    /// New journal objects.
    journal: Vec<String>,
    /// Media that changed state: (media id, new state, media key, bytes).
    media: Vec<(String, String, String, i64)>,
}

/// The serve-mode front: a loopback proxy in front of the webhook's front door that reports what
/// each request did.
struct Observer {
    media: Arc<MediaStack>,
    upstream: String,
    http: reqwest::Client,
    seen: Arc<tokio::sync::Mutex<Seen>>,
}

async fn look(media: &MediaStack, seen: &mut Seen) -> DemoResult<Changes> {
    let mut changes = Changes::default();
    let w = &media.webhook;
    for item in w.records().await? {
        let key = (
            s(&item, "pk").unwrap_or("-").to_owned(),
            s(&item, "sk").unwrap_or("-").to_owned(),
        );
        let state = s(&item, "media_status").map(str::to_owned);
        match seen.records.get(&key) {
            None => changes.records.push(format!(
                "{} {}",
                s(&item, "kind").unwrap_or("-"),
                s(&item, "type").or(s(&item, "status")).unwrap_or("-")
            )),
            Some(before) if *before != state => changes.media.push((
                s(&item, "media_id").unwrap_or("-").to_owned(),
                state.clone().unwrap_or_default(),
                s(&item, "media_key").unwrap_or("-").to_owned(),
                n(&item, "media_bytes").unwrap_or(0),
            )),
            Some(_) => {}
        }
        seen.records.insert(key, state);
    }
    for key in w.keys("journal/").await? {
        if seen.journal.insert(key.clone()) {
            changes.journal.push(key);
        }
    }
    Ok(changes)
}

/// Runs fetcher invocations until the queue is empty (or only retries are left: the periodic
/// poll picks those up); returns the media ids of the jobs handled.
async fn fetch_all(media: &MediaStack) -> DemoResult<Vec<String>> {
    let mut handled = Vec::new();
    for _ in 0..10 {
        let round = media.fetch_round().await?;
        if round.media_ids.is_empty() {
            break;
        }
        let only_retries = round.retried.len() == round.media_ids.len();
        handled.extend(round.media_ids);
        if only_retries {
            break;
        }
    }
    Ok(handled)
}

fn print_media(changes: &Changes) {
    for (id, state, key, bytes) in &changes.media {
        println!("  media {id}: {state} {key} ({bytes} bytes)");
    }
}

fn summary(things: &[String]) -> String {
    let mut counts = BTreeMap::new();
    for thing in things {
        *counts.entry(thing.as_str()).or_insert(0usize) += 1;
    }
    counts
        .iter()
        .map(|(thing, count)| {
            if *count == 1 {
                (*thing).to_owned()
            } else {
                format!("{count} x {thing}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Forwards one request to the webhook, then (holding the lock, so requests are reported one by
/// one) prints what it stored and runs the media fetcher over the jobs it queued.
async fn handle(
    request: Request<Incoming>,
    observer: Arc<Observer>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let guard = observer.seen.clone().lock_owned().await;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut forward = observer
        .http
        .request(parts.method.clone(), format!("{}{path}", observer.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            forward = forward.header(name, value);
        }
    }
    let (status, content_type, answer) = match forward.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let content_type = response.headers().get("content-type").cloned();
            (
                status,
                content_type,
                response.bytes().await.unwrap_or_default(),
            )
        }
        Err(e) => (502, None, Bytes::from(format!("demo proxy: {e}"))),
    };
    // The query of a handshake holds the verify token: only the path is printed.
    let line = format!("{} {} -> {status}", parts.method, parts.uri.path());
    if parts.method == hyper::Method::POST && status == 200 {
        let media = observer.media.clone();
        tokio::spawn(async move {
            let mut seen = guard;
            let report = async {
                let stored = look(&media, &mut seen).await?;
                let jobs = fetch_all(&media).await?;
                let fetched = look(&media, &mut seen).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((stored, jobs, fetched))
            };
            match report.await {
                Ok((stored, jobs, fetched)) => {
                    println!(
                        "{line} | stored {} | journal {} | {} media job(s){}",
                        if stored.records.is_empty() {
                            "no new record (a redelivery, or no message or status in it)".to_owned()
                        } else {
                            format!(
                                "{} record(s): {}",
                                stored.records.len(),
                                summary(&stored.records)
                            )
                        },
                        if stored.journal.is_empty() {
                            "unchanged (this body was journaled before)".to_owned()
                        } else {
                            stored.journal.join(", ")
                        },
                        jobs.len(),
                        if jobs.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", jobs.join(", "))
                        }
                    );
                    print_media(&stored);
                    print_media(&fetched);
                }
                Err(e) => println!("{line} | could not read the stores: {e}"),
            }
        });
    } else {
        let detail = if parts.method == hyper::Method::GET {
            if status == 200 {
                "handshake answered".to_owned()
            } else {
                "handshake refused".to_owned()
            }
        } else {
            format!(
                "{} | stored nothing",
                String::from_utf8_lossy(&answer).trim()
            )
        };
        println!("{line} {detail}");
        drop(guard);
    }
    let mut response = Response::new(Full::new(answer));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, content_type);
    }
    Ok(response)
}

/// `demo --serve`: sample bodies on disk, a reporting proxy in front of the webhook, the media
/// fetcher run after each webhook, and how to read the stores; until Ctrl-C.
async fn serve_forever(media: Arc<MediaStack>, endpoint: &str) -> DemoResult {
    heading("Serving");
    let root = wavault_tests::workspace_root();
    // Every fixture's media is served by the fake Graph API too, so posting one archives it.
    let fixtures = root.join("tests/fixtures/webhooks");
    let mut seed = 100u8;
    for entry in std::fs::read_dir(&fixtures)?.flatten() {
        let Ok(mut body) = serde_json::from_slice::<Value>(&std::fs::read(entry.path())?) else {
            continue;
        };
        for object in media_objects(&mut body) {
            if let Some(id) = object["id"].as_str() {
                let mime = object["mime_type"]
                    .as_str()
                    .unwrap_or("application/octet-stream");
                serve_media(&media, id, 20_000 + usize::from(seed) * 100, seed, mime);
                seed = seed.wrapping_add(1);
            }
        }
    }
    // Sample bodies of our own (made-up contact and text), with real digests.
    let samples_dir = wavault_tests::target_dir().join("demo-serve");
    std::fs::create_dir_all(&samples_dir)?;
    let mut digests = HashMap::new();
    digests.insert(
        SERVE_IMAGE_ID.to_owned(),
        serve_media(&media, SERVE_IMAGE_ID, 150_000, 1, "image/jpeg"),
    );
    digests.insert(
        SERVE_DOCUMENT_ID.to_owned(),
        serve_media(&media, SERVE_DOCUMENT_ID, 800_000, 2, "application/pdf"),
    );
    let bodies = [
        (
            "text.json",
            samples::text_body("wamid.SERVE.TEXT", CONTACT_A, "Sent by hand with curl"),
        ),
        (
            "image.json",
            samples::messages_body(
                CONTACT_A,
                vec![samples::media_message(
                    "wamid.SERVE.IMAGE",
                    CONTACT_A,
                    "image",
                    SERVE_IMAGE_ID,
                    "image/jpeg",
                )],
            ),
        ),
        (
            "document.json",
            samples::messages_body(
                CONTACT_B,
                vec![samples::media_message(
                    "wamid.SERVE.DOC",
                    CONTACT_B,
                    "document",
                    SERVE_DOCUMENT_ID,
                    "application/pdf",
                )],
            ),
        ),
        (
            "statuses.json",
            samples::statuses_body(vec![
                samples::status("wamid.SERVE.OUT", CONTACT_A, "sent"),
                samples::status("wamid.SERVE.OUT", CONTACT_A, "delivered"),
            ]),
        ),
    ];
    for (name, body) in &bodies {
        std::fs::write(samples_dir.join(name), with_digests(body, &digests)?)?;
    }

    // The proxy the user talks to; it reports each request.
    let mut seen = Seen::default();
    look(&media, &mut seen).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}/webhook", listener.local_addr()?);
    let observer = Arc::new(Observer {
        upstream: format!("http://{}", media.webhook.front_door.addr()),
        media: media.clone(),
        http: reqwest::Client::new(),
        seen: Arc::new(tokio::sync::Mutex::new(seen)),
    });

    let demo = std::env::current_exe()
        .map(|p| shown(&p))
        .unwrap_or_else(|_| "cargo run -q -p wavault-tests --bin demo --".to_owned());
    let w = &media.webhook;
    let python = shown(&root.join(".venv/bin/python"));
    let region = wavault_tests::aws::REGION;
    let aws = format!(
        "c=dict(endpoint_url='{endpoint}', region_name='{region}', aws_access_key_id='demo', aws_secret_access_key='demo')"
    );
    println!("webhook URL       {url}");
    println!(
        "sample bodies     {}/ ({}; rewritten by every `make serve`)",
        shown(&samples_dir),
        bodies.map(|(name, _)| name).join(", ")
    );
    println!(
        "                  and every tests/fixtures/webhooks/*.json (their media is served too)"
    );
    println!();
    println!("Verify as Meta does:");
    println!(
        "  curl '{url}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=42'; echo"
    );
    println!("Deliver a signed body (`{demo} sign FILE` prints the signature header):");
    println!(
        "  post() {{ curl -sS -X POST -H 'content-type: application/json' \
         -H \"X-Hub-Signature-256: $({demo} sign \"$1\")\" --data-binary @\"$1\" {url}; echo; }}"
    );
    println!("  post {}", shown(&samples_dir.join("image.json")));
    println!("  post {}", shown(&fixtures.join("image.json")));
    println!("(posting the same file twice is a redelivery: nothing new is stored; change the wamid for a new message)");
    println!();
    println!("Look at the stored data (moto at {endpoint}; any access key works):");
    println!(
        "  {python} -c \"import boto3; {aws}; [print(i['pk'][:12], i['sk'], i['kind'], i.get('type', i.get('status', '')), i.get('media_status', '')) for i in boto3.resource('dynamodb', **c).Table('{}').scan()['Items']]\"",
        w.stack.table
    );
    println!(
        "  {python} -c \"import boto3; {aws}; [print(o['Key'], o['Size']) for o in boto3.client('s3', **c).list_objects_v2(Bucket='{}').get('Contents', [])]\"",
        w.stack.bucket
    );
    println!(
        "  {python} -c \"import boto3; {aws}; print(boto3.client('s3', **c).get_object(Bucket='{}', Key='JOURNAL_KEY')['Body'].read().decode())\"",
        w.stack.bucket
    );
    println!();
    println!("Each request prints one line below. (Ctrl-C to stop; the emulators and functions stop with the demo.)");

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // Jobs are fetched right after the webhook that queued them (see `handle`); this poll picks
    // up what the fetcher asked to retry and jobs queued by requests that bypassed this proxy. A
    // periodic poll is fine here: serve mode is an interactive tool, and nothing waits on it.
    let mut poll = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let observer = observer.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| handle(request, observer.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
            _ = poll.tick() => {
                let mut seen = observer.seen.clone().lock_owned().await;
                let polled = async {
                    let jobs = fetch_all(&media).await?;
                    let changes = if jobs.is_empty() { Changes::default() } else { look(&media, &mut seen).await? };
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>((jobs, changes))
                };
                match polled.await {
                    Ok((jobs, _)) if jobs.is_empty() => {}
                    Ok((jobs, changes)) => {
                        println!("fetcher poll: {} media job(s) ({})", jobs.len(), jobs.join(", "));
                        if !changes.records.is_empty() {
                            println!("  new records: {}", summary(&changes.records));
                        }
                        print_media(&changes);
                    }
                    Err(e) => println!("fetcher poll failed: {e}"),
                }
            }
        }
    }
}
