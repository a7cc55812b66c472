//! Per-contact erasure and export end to end: signed webhooks through the real webhook binary,
//! media archived by the real media-fetcher from the fake Graph API, then the real `wavault`
//! binary run as a process against moto. Two contacts, one webhook body holding both.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use wavault_core::contact::{ContactHasher, ContactIdKind, RecordIdKind};
use wavault_core::records::{body_sha256_hex, journal_key};
use wavault_core::testkit::samples;
use wavault_tests::fake_graph::MediaBehaviour;
use wavault_tests::local_stack::LocalStack;
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{function_binary, n, s, ACCESS_TOKEN, CONTACT_HASH_KEY};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
type Item = HashMap<String, AttributeValue>;

/// Contact A (the media stack's sender) and its business-scoped user id; contact B.
const A: &str = wavault_tests::media_stack::CONTACT;
const A_USER: &str = "US.13491208655302741918";
const B: &str = "15550002222";
/// Text that must never reach a record of A after erasure, nor any output of the tool.
const A_TEXT: &str = "A's private words";

fn envelope(value: Value) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]
    })
    .to_string()
    .into_bytes()
}

fn value(contacts: Vec<Value>, messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15559990000", "phone_number_id": samples::PHONE_NUMBER_ID},
        "contacts": contacts,
        "messages": messages,
        "statuses": statuses,
    })
}

fn contact(wa_id: Option<&str>, user_id: Option<&str>, name: &str) -> Value {
    let mut c = json!({"profile": {"name": name}});
    if let Some(wa_id) = wa_id {
        c["wa_id"] = json!(wa_id);
    }
    if let Some(user_id) = user_id {
        c["user_id"] = json!(user_id);
    }
    c
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(17).wrapping_add(seed))
        .collect()
}

/// The webhook bodies of the scenario and the elements they carry, by item key `(pk, sk)` (the
/// partition key is the wamid's keyed hash, computed by the stack's one helper).
struct Scenario {
    a_only: Vec<u8>,
    b_only: Vec<u8>,
    shared: Vec<u8>,
    a_user_only: Vec<u8>,
    /// Every element as sent, by record key.
    sent: BTreeMap<(String, String), Value>,
    a_keys: BTreeSet<(String, String)>,
    b_keys: BTreeSet<(String, String)>,
    /// Media bytes by media id.
    media: BTreeMap<&'static str, Vec<u8>>,
}

fn scenario(stack: &LocalStack) -> Scenario {
    let a1 = samples::text_message("wamid.ER.A1", A, A_TEXT);
    let a2 = samples::media_message("wamid.ER.A2", A, "image", "m-er-a1", "image/jpeg");
    let a3 = samples::text_message("wamid.ER.A3", A, A_TEXT);
    let a4 = samples::media_message("wamid.ER.A4", A, "image", "m-er-a2", "image/jpeg");
    let a5 = json!({"from_user_id": A_USER, "id": "wamid.ER.A5", "timestamp": "1763800000", "type": "text", "text": {"body": A_TEXT}});
    let out_a = samples::status("wamid.ER.OUT.A", A, "delivered");
    let b1 = samples::media_message("wamid.ER.B1", B, "image", "m-er-b1", "image/jpeg");
    let b2 = samples::text_message("wamid.ER.B2", B, "B's words");
    let b3 = samples::media_message("wamid.ER.B3", B, "document", "m-er-b2", "application/pdf");
    let out_b = samples::status("wamid.ER.OUT.B", B, "read");

    let a_name = "Alice Sample";
    let b_name = "Bob Sample";
    let a_only = envelope(value(
        vec![contact(Some(A), None, a_name)],
        vec![a1.clone(), a2.clone()],
        vec![],
    ));
    let b_only = envelope(value(
        vec![contact(Some(B), None, b_name)],
        vec![b1.clone(), b2.clone()],
        vec![],
    ));
    let shared = envelope(value(
        vec![
            contact(Some(A), Some(A_USER), a_name),
            contact(Some(B), None, b_name),
        ],
        vec![a3.clone(), b3.clone(), a4.clone()],
        vec![out_a.clone(), out_b.clone()],
    ));
    // Only the user id: found through the ids A's other records carry.
    let a_user_only = envelope(value(
        vec![contact(None, Some(A_USER), a_name)],
        vec![a5.clone()],
        vec![],
    ));
    let key = |wamid: &str, sk: &str| (stack.message_key(wamid), sk.to_owned());
    let mut sent = BTreeMap::new();
    let mut a_keys = BTreeSet::new();
    let mut b_keys = BTreeSet::new();
    for (element, sk, of_a) in [
        (a1, "message", true),
        (a2, "message", true),
        (a3, "message", true),
        (a4, "message", true),
        (a5, "message", true),
        (out_a, "status#delivered", true),
        (b1, "message", false),
        (b2, "message", false),
        (b3, "message", false),
        (out_b, "status#read", false),
    ] {
        let k = key(element["id"].as_str().unwrap_or_default(), sk);
        if of_a {
            a_keys.insert(k.clone());
        } else {
            b_keys.insert(k.clone());
        }
        sent.insert(k, element);
    }
    let media = BTreeMap::from([
        ("m-er-a1", bytes(150_000, 1)),
        ("m-er-a2", bytes(90_000, 2)),
        ("m-er-b1", bytes(120_000, 3)),
        ("m-er-b2", bytes(200_000, 4)),
    ]);
    Scenario {
        a_only,
        b_only,
        shared,
        a_user_only,
        sent,
        a_keys,
        b_keys,
        media,
    }
}

fn journal_of(body: &[u8]) -> String {
    journal_key(&body_sha256_hex(body), true)
}

/// The real `wavault` binary run as the operator (the policy the template gives operators, checked by the IAM
/// gateway) with the stack's environment only, whatever it answers.
async fn run_wavault(m: &MediaStack, args: &[&str]) -> TestResult<std::process::Output> {
    Ok(m.webhook.run_wavault(args).await?)
}

/// Runs the real `wavault` binary with the stack's environment only (no developer profile) and
/// checks that nothing it prints names a contact or carries content. Erasures run with
/// `--concurrency 1`: moto's S3 `ListObjectVersions` fails when a delete runs beside it.
async fn wavault(m: &MediaStack, args: &[&str]) -> TestResult<(Value, String)> {
    let output = run_wavault(m, args).await?;
    let stdout = String::from_utf8(output.stdout)?;
    let stderr = String::from_utf8(output.stderr)?;
    assert!(output.status.success(), "wavault {args:?} failed: {stderr}");
    for private in [
        A,
        B,
        A_USER,
        A_TEXT,
        "Alice",
        "Bob",
        "B's words",
        ACCESS_TOKEN,
        CONTACT_HASH_KEY,
    ] {
        assert!(
            !stdout.contains(private) && !stderr.contains(private),
            "wavault printed private data"
        );
    }
    Ok((serde_json::from_str(&stdout)?, stderr))
}

async fn item(m: &MediaStack, key: &(String, String)) -> TestResult<Option<Item>> {
    let output = m
        .webhook
        .dynamodb
        .get_item()
        .table_name(&m.webhook.stack.table)
        .key("pk", AttributeValue::S(key.0.clone()))
        .key("sk", AttributeValue::S(key.1.clone()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(output.item().cloned())
}

fn item_key(item: &Item) -> (String, String) {
    (
        s(item, "pk").unwrap_or_default().to_owned(),
        s(item, "sk").unwrap_or_default().to_owned(),
    )
}

/// The sort key of a contact's journal links: a keyed hash of its contact hash.
fn link_sk(hash: &str) -> String {
    format!(
        "contact#{}",
        ContactHasher::new(CONTACT_HASH_KEY).record_key(RecordIdKind::ContactLink, hash)
    )
}

/// Items belonging to B: its records and its journal links.
fn b_items(items: &[Item], sc: &Scenario, b_hash: &str) -> BTreeMap<(String, String), Item> {
    let b_link = link_sk(b_hash);
    items
        .iter()
        .filter(|i| sc.b_keys.contains(&item_key(i)) || s(i, "sk") == Some(b_link.as_str()))
        .map(|i| (item_key(i), i.clone()))
        .collect()
}

fn count(summary: &Value, name: &str) -> u64 {
    summary[name].as_u64().unwrap_or(u64::MAX)
}

#[tokio::test]
async fn erasing_one_contact_leaves_the_other_intact_and_export_round_trips() -> TestResult {
    let moto = MotoServer::shared()?;
    let m = MediaStack::start(&moto.endpoint(), "erasure").await?;
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    let sc = scenario(&m.webhook.stack);
    for (id, data) in &sc.media {
        let mime = if *id == "m-er-b2" {
            "application/pdf"
        } else {
            "image/jpeg"
        };
        m.graph
            .add_media(id, data.clone(), mime, MediaBehaviour::Ok);
    }
    for body in [&sc.a_only, &sc.b_only, &sc.shared, &sc.a_user_only] {
        let answer = m.webhook.post_signed(body).await?;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    for _ in 0..5 {
        let round = m.fetch_round().await?;
        assert!(round.retried.is_empty(), "{round:?}");
        if round.media_ids.is_empty() {
            break;
        }
    }
    let hasher = ContactHasher::new(CONTACT_HASH_KEY);
    let a_hashes = [
        hasher.hash(ContactIdKind::WaId, A),
        hasher.hash(ContactIdKind::UserId, A_USER),
    ];
    let b_hash = hasher.hash(ContactIdKind::WaId, B);

    // Before: every record there, all four media archived.
    let mut a_media_keys = BTreeSet::new();
    for key in sc.a_keys.iter().chain(&sc.b_keys) {
        let found = item(&m, key)
            .await?
            .ok_or("record missing before erasure")?;
        if let Some(media_key) = s(&found, "media_key") {
            assert_eq!(s(&found, "media_status"), Some("archived"));
            if sc.a_keys.contains(key) {
                a_media_keys.insert(media_key.to_owned());
            }
        }
    }
    assert_eq!(a_media_keys.len(), 2);
    let media_before: BTreeSet<String> = m.webhook.keys("media/").await?.into_iter().collect();
    assert_eq!(media_before.len(), 4);
    let items_before = m.webhook.items().await?;
    let b_before = b_items(&items_before, &sc, &b_hash);
    assert_eq!(
        b_before.len(),
        4 + 2,
        "B's records and its two journal links"
    );
    let b_journal_before = m.webhook.object(&journal_of(&sc.b_only)).await?;

    // Erase A by its number alone.
    let (summary, stderr) = wavault(
        &m,
        &["erase", "--concurrency", "1", "--wa-id", &format!("+{A}")],
    )
    .await?;
    assert_eq!(summary["command"], "erase");
    assert_eq!(count(&summary, "records_erased"), 6, "{summary}");
    assert_eq!(count(&summary, "media_objects_deleted"), 2, "{summary}");
    assert_eq!(count(&summary, "journal_objects_deleted"), 2, "{summary}");
    assert_eq!(count(&summary, "journal_objects_redacted"), 1, "{summary}");
    assert_eq!(count(&summary, "journal_links_erased"), 3, "{summary}");
    assert_eq!(count(&summary, "erasure_markers"), 2, "{summary}");
    assert!(
        count(&summary, "bytes_freed") >= 150_000 + 90_000,
        "{summary}"
    );
    assert!(
        stderr.contains("\"event\":\"erasure\"") && stderr.contains("RecordsErased"),
        "audit log line and EMF metrics on stderr: {stderr}"
    );

    // A's records are tombstones: keys, kind, when, original expiry and its slot - nothing else.
    for key in &sc.a_keys {
        let original = items_before
            .iter()
            .find(|i| item_key(i) == *key)
            .ok_or("no original")?;
        let tombstone = item(&m, key).await?.ok_or("tombstone missing")?;
        assert_eq!(s(&tombstone, "kind"), Some("erased"), "{key:?}");
        assert!(n(&tombstone, "erased_at").is_some());
        assert_eq!(n(&tombstone, "expires_at"), n(original, "expires_at"));
        assert_eq!(s(&tombstone, "expiry_slot"), s(original, "expiry_slot"));
        assert_eq!(tombstone.len(), 6, "{tombstone:?}");
    }
    // A's media objects are gone, B's are there.
    let media_after: BTreeSet<String> = m.webhook.keys("media/").await?.into_iter().collect();
    assert_eq!(
        media_after,
        media_before.difference(&a_media_keys).cloned().collect()
    );
    // A-only journal objects are gone; the shared one keeps B's elements only; B's is untouched.
    let journal_after: BTreeSet<String> = m.webhook.keys("journal/").await?.into_iter().collect();
    assert!(!journal_after.contains(&journal_of(&sc.a_only)));
    assert!(!journal_after.contains(&journal_of(&sc.a_user_only)));
    assert!(m.webhook.object(&journal_of(&sc.b_only)).await? == b_journal_before);
    let shared_text = String::from_utf8(m.webhook.object(&journal_of(&sc.shared)).await?)?;
    for private in [A, A_USER, A_TEXT, "Alice"] {
        assert!(
            !shared_text.contains(private),
            "shared journal still holds A"
        );
    }
    let shared: Value = serde_json::from_str(&shared_text)?;
    let value = &shared["entry"][0]["changes"][0]["value"];
    assert_eq!(
        value["contacts"],
        json!([contact(Some(B), None, "Bob Sample")])
    );
    let ids = |array: &Value| -> Vec<String> {
        array
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids(&value["messages"]), vec!["wamid.ER.B3"]);
    assert_eq!(
        value["messages"][0],
        sc.sent[&(
            m.webhook.stack.message_key("wamid.ER.B3"),
            "message".to_owned()
        )]
    );
    assert_eq!(ids(&value["statuses"]), vec!["wamid.ER.OUT.B"]);
    // B's items are exactly as before; no item holds A's hashes, and no live item is A's link
    // (a link's tombstone keeps its key, a keyed hash of the contact hash, as records keep theirs).
    let items_after = m.webhook.items().await?;
    assert_eq!(b_items(&items_after, &sc, &b_hash), b_before);
    for i in &items_after {
        for hash in &a_hashes {
            let shown = format!("{i:?}");
            assert!(
                !shown.contains(hash.as_str())
                    && (s(i, "kind") == Some("erased")
                        || s(i, "sk") != Some(link_sk(hash).as_str())),
                "an item still carries A's hash: {shown}"
            );
        }
    }

    // Again: nothing left to do.
    let (again, _) = wavault(
        &m,
        &[
            "erase",
            "--concurrency",
            "1",
            "--wa-id",
            A,
            "--user-id",
            A_USER,
        ],
    )
    .await?;
    for name in [
        "records_erased",
        "media_objects_deleted",
        "bytes_freed",
        "journal_objects_redacted",
        "journal_objects_deleted",
        "journal_links_erased",
    ] {
        assert_eq!(count(&again, name), 0, "{name}: {again}");
    }
    // Nothing changed but the markers, which a second erasure renews.
    let without_markers = |items: Vec<Item>| -> Vec<Item> {
        items
            .into_iter()
            .filter(|i| s(i, "kind") != Some("erased-contact"))
            .collect()
    };
    let items_after = without_markers(items_after);
    assert_eq!(without_markers(m.webhook.items().await?), items_after);

    // Meta redelivers A's old webhooks: the webhook finds A's erasure markers and stores
    // nothing of A (the A-only body not at all), no media job is sent.
    m.webhook.drain_jobs().await?;
    for body in [&sc.a_only, &sc.a_user_only] {
        let answer = m.webhook.post_signed(body).await?;
        assert_eq!(answer.status, 200);
    }
    for key in &sc.a_keys {
        let tombstone = item(&m, key).await?.ok_or("tombstone missing")?;
        assert_eq!(s(&tombstone, "kind"), Some("erased"));
        assert_eq!(tombstone.len(), 6);
    }
    assert_eq!(
        without_markers(m.webhook.items().await?),
        items_after,
        "no item written"
    );
    assert!(m.webhook.drain_jobs().await?.is_empty(), "no media job");
    assert_eq!(
        m.webhook
            .keys("media/")
            .await?
            .into_iter()
            .collect::<BTreeSet<_>>(),
        media_after
    );
    let journal_now: BTreeSet<String> = m.webhook.keys("journal/").await?.into_iter().collect();
    assert_eq!(
        journal_now, journal_after,
        "the redelivered bodies were withheld"
    );
    let (third, _) = wavault(&m, &["erase", "--concurrency", "1", "--wa-id", A]).await?;
    assert_eq!(count(&third, "records_erased"), 0, "{third}");
    assert_eq!(count(&third, "journal_objects_deleted"), 0, "{third}");

    // Export B: every record and media file, checked against what was sent.
    let out = wavault_tests::target_dir()
        .join("erasure-test")
        .join(format!("export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.display().to_string();
    let (export, progress) = wavault(
        &m,
        &[
            "export",
            "--wa-id",
            B,
            "--out",
            &out_text,
            "--progress-every",
            "1",
        ],
    )
    .await?;
    assert_eq!(count(&export, "records"), 4, "{export}");
    assert_eq!(count(&export, "media_files"), 2, "{export}");
    assert_eq!(count(&export, "media_mismatched"), 0, "{export}");
    assert_eq!(count(&export, "media_missing"), 0, "{export}");
    assert_eq!(count(&export, "journal_objects"), 2, "{export}");
    assert!(progress.contains("wavault: export media 2/2"), "{progress}");

    let records: Vec<Value> = serde_json::from_slice(&std::fs::read(out.join("records.json"))?)?;
    let exported: BTreeSet<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["pk"].as_str().unwrap_or_default().to_owned(),
                r["sk"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(exported, sc.b_keys);
    for record in &records {
        let key = (
            record["pk"].as_str().unwrap_or_default().to_owned(),
            record["sk"].as_str().unwrap_or_default().to_owned(),
        );
        assert_eq!(record["raw"], sc.sent[&key], "raw round-trips as JSON");
        assert!(record["expires_at"].is_i64());
    }
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json"))?)?;
    let files = manifest["files"].as_array().ok_or("no files")?;
    assert_eq!(files.len(), 4, "records, journal, two media files");
    let mut media_seen = BTreeSet::new();
    for file in files {
        let path = file["path"].as_str().ok_or("no path")?;
        let data = std::fs::read(out.join(path))?;
        assert_eq!(
            file["sha256"].as_str(),
            Some(body_sha256_hex(&data).as_str())
        );
        assert_eq!(file["bytes"].as_u64(), Some(data.len() as u64));
        if let Some(rest) = path.strip_prefix("media/") {
            // Media files are named by their record's key; the record says which media id it was.
            let record_key = rest
                .rsplit('/')
                .next()
                .and_then(|name| name.split('.').next())
                .ok_or("media file name")?;
            let media_id = records
                .iter()
                .find(|r| r["pk"] == record_key && r["sk"] == "message")
                .and_then(|r| r["media_id"].as_str())
                .ok_or("no record for the media file")?;
            assert!(sc.media[media_id] == data, "{media_id} bytes differ");
            assert_eq!(file["matches_record"], json!(true));
            media_seen.insert(media_id.to_owned());
        }
    }
    assert_eq!(
        media_seen,
        BTreeSet::from(["m-er-b1".to_owned(), "m-er-b2".to_owned()])
    );
    let journal: Vec<Value> = serde_json::from_slice(&std::fs::read(out.join("journal.json"))?)?;
    for entry in &journal {
        assert_eq!(
            entry["contact"]["contacts"],
            json!([contact(Some(B), None, "Bob Sample")])
        );
    }
    let everything = std::fs::read_to_string(out.join("records.json"))?
        + &std::fs::read_to_string(out.join("journal.json"))?;
    assert!(!everything.contains(A) && !everything.contains(A_TEXT));

    // A second export into the same folder is refused rather than mixed.
    let refused = run_wavault(&m, &["export", "--wa-id", B, "--out", &out_text]).await?;
    assert!(!refused.status.success());
    assert!(String::from_utf8(refused.stderr)?.contains("not empty"));
    std::fs::remove_dir_all(&out)?;
    Ok(())
}

#[tokio::test]
async fn the_tool_fails_clearly_without_echoing_what_was_typed() -> TestResult {
    let binary = function_binary("wavault")?;
    // A stray positional phone number: an argument error by kind, exit 2, the value not repeated.
    let output = tokio::process::Command::new(&binary)
        .args(["erase", "15557654321"])
        .env_clear()
        .output()
        .await?;
    let stderr = String::from_utf8(output.stderr)?;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("15557654321"), "{stderr}");
    // No configuration: one line naming the variable, exit 1.
    let output = tokio::process::Command::new(&binary)
        .args(["erase", "--wa-id", "15557654321"])
        .env_clear()
        .output()
        .await?;
    let stderr = String::from_utf8(output.stderr)?;
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("RECORDS_TABLE"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("15557654321"));
    let help = tokio::process::Command::new(&binary)
        .arg("--help")
        .output()
        .await?;
    assert!(help.status.success());
    assert!(String::from_utf8(help.stdout)?.contains("export"));
    Ok(())
}

/// Retention (or the lifecycle backstop) may delete a contact's media and journal objects before an erasure or
/// export request is answered. On AWS a GET of a missing key is 403 unless the caller may list the bucket: the
/// operator's policy must allow that, or the tool fails on exactly those contacts (the IAM gateway answers as
/// AWS does here).
#[tokio::test]
async fn export_and_erase_complete_when_retention_already_deleted_the_objects() -> TestResult {
    let moto = MotoServer::shared()?;
    let m = MediaStack::start(&moto.endpoint(), "erasure-gone").await?;
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    m.graph
        .add_media("m-gone", bytes(30_000, 5), "image/jpeg", MediaBehaviour::Ok);
    m.receive_media("wamid.GONE", "image", "m-gone", "image/jpeg")
        .await?;
    assert!(m.fetch_round().await?.retried.is_empty());
    let record = m.record("wamid.GONE").await?.ok_or("record")?;
    let media_key = s(&record, "media_key").ok_or("archived")?.to_owned();
    let journal_key = s(&record, "journal_key").ok_or("journal")?.to_owned();
    for key in [&media_key, &journal_key] {
        m.webhook
            .s3
            .delete_object()
            .bucket(&m.webhook.stack.bucket)
            .key(key)
            .send()
            .await?;
    }

    let out = std::env::temp_dir().join(format!("wavault-export-gone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.display().to_string();
    // Export says what is missing (its files are gone: the export is incomplete, and says so) instead of
    // failing on AccessDenied.
    let export = run_wavault(&m, &["export", "--wa-id", A, "--out", &out_text]).await?;
    let stderr = String::from_utf8(export.stderr)?;
    assert!(
        stderr.contains("1 media file(s) missing from the bucket")
            && !stderr.contains("AccessDenied"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&out);
    let (summary, _) = wavault(&m, &["erase", "--concurrency", "1", "--wa-id", A]).await?;
    assert_eq!(summary["command"], "erase", "{summary}");
    assert_eq!(count(&summary, "records_erased"), 1, "{summary}");
    Ok(())
}
