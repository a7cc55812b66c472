//! `make demo`: the whole ingest pipeline on this machine, against moto and the real webhook
//! binary, showing what happens to each kind of webhook.
//!
//! Usage: `demo` (run the scenario and exit), `demo --serve` (run it, then stay up and print the
//! webhook URL for manual curl), `demo sign FILE` (print the X-Hub-Signature-256 header for a
//! body, signed with the demo's app secret).
//! With `AWS_ENDPOINT_URL` set, the demo uses that emulator instead of starting moto; with
//! `GRAPH_API_BASE_URL` set, the functions are pointed at that Graph API.

use serde_json::json;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};
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
        let body = std::fs::read(path)?;
        println!(
            "{}",
            wavault_core::signature::signature_header(APP_SECRET.as_bytes(), &body)
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
    let media = MediaStack::start(&endpoint, &suffix).await?;
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
    items.sort_by(|a, b| (s(a, "wamid"), s(a, "sk")).cmp(&(s(b, "wamid"), s(b, "sk"))));
    println!(
        "{:<22} {:<16} {:<8} {:<10} {:<9} {:<12} contact",
        "wamid", "sk", "kind", "type", "media", "expires in"
    );
    for item in &items {
        println!(
            "{:<22} {:<16} {:<8} {:<10} {:<9} {:<12} {}",
            s(item, "wamid").unwrap_or("-"),
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
    let ids = [
        "880001", "880002", "9000001", "9000004", "9000007", "9000010",
    ];
    for (i, id) in ids.iter().enumerate() {
        let size = [180_000usize, 2_400_000, 45_000, 61_000, 9_500_000, 12_000][i];
        let bytes: Vec<u8> = (0..size)
            .map(|b| (b as u8).wrapping_mul(31).wrapping_add(i as u8))
            .collect();
        media
            .graph
            .add_media(id, bytes, "image/jpeg", MediaBehaviour::Ok);
    }
    media
        .graph
        .set_valid_tokens(&[wavault_tests::webhook_stack::ACCESS_TOKEN]);
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
    archived.sort_by_key(|i| s(i, "wamid").map(str::to_owned));
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
            "{:<18} {:<9} {:<44} {:>9} bytes  {}",
            s(item, "wamid").unwrap_or("-"),
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
    w.dynamodb
        .update_item()
        .table_name(&w.stack.table)
        .key(
            "wamid",
            aws_sdk_dynamodb::types::AttributeValue::S("wamid.DEMO.DOC".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("message".into()),
        )
        .update_expression("SET expires_at = :at, expiry_hour = :hour")
        .expression_attribute_values(
            ":at",
            aws_sdk_dynamodb::types::AttributeValue::N(past.to_string()),
        )
        .expression_attribute_values(
            ":hour",
            aws_sdk_dynamodb::types::AttributeValue::N(past.div_euclid(3600).to_string()),
        )
        .send()
        .await?;
    println!(
        "wamid.DEMO.DOC     expires_at moved to an hour ago (TTL would remove it within days)"
    );
    let swept = expirer
        .invoke(json!({"action": "sweep"}))
        .await?
        .ok()
        .ok_or("the sweep failed")?;
    println!("hourly sweep      -> {swept}");
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
        "wamid.DEMO.IMAGE is now {:?} (a tombstone keeps a redelivery from recreating it); \
         {} records of other contacts are untouched",
        image_now.as_ref().and_then(|i| s(i, "kind")),
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
        heading("Serving");
        println!("webhook URL: {}", w.webhook_url());
        println!("verify:  curl '{}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=42'", w.webhook_url());
        println!("deliver: cargo run -q -p wavault-tests --bin demo -- sign body.json   # prints the signature header");
        println!("         curl -X POST -H 'content-type: application/json' -H \"X-Hub-Signature-256: $(cargo run -q -p wavault-tests --bin demo -- sign body.json)\" --data-binary @body.json {}", w.webhook_url());
        println!("(Ctrl-C to stop; the emulator and the function stop with the demo)");
        tokio::signal::ctrl_c().await?;
    }
    Ok(())
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
