use crate::contact::*;
use serde_json::json;
use serde_json::Value;

const A: &str = "15550001111";
const A_USER: &str = "US.1001";
const B: &str = "15550002222";

fn hasher() -> ContactHasher {
    ContactHasher::new(b"unit-test-contact-hash-key")
}

fn hashes_of(wa_id: Option<&str>, user_id: Option<&str>) -> ContactHashes {
    let ids = ContactIds {
        wa_id: wa_id.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
    };
    ContactHashes::of(&hasher(), &ids).unwrap()
}

fn body(value: Value) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]
    })
    .to_string()
    .into_bytes()
}

fn contact(wa_id: &str, name: &str) -> Value {
    json!({"profile": {"name": name}, "wa_id": wa_id})
}

fn text_message(id: &str, from: &str, text: &str) -> Value {
    json!({"from": from, "id": id, "type": "text", "text": {"body": text}})
}

fn status(id: &str, recipient: &str) -> Value {
    json!({"id": id, "status": "delivered", "recipient_id": recipient})
}

fn batch() -> Vec<u8> {
    body(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15559990000", "phone_number_id": "1234567890"},
        "contacts": [contact(A, "Alice"), contact(B, "Bob")],
        "messages": [text_message("wamid.A1", A, "from alice"), text_message("wamid.B1", B, "from bob")],
        "statuses": [status("wamid.OUT.A", A), status("wamid.OUT.B", B)],
    }))
}

fn redact(body: &[u8], hashes: &ContactHashes) -> Redaction {
    let hasher = hasher();
    redact_journal(
        body,
        &ContactMatcher {
            hasher: &hasher,
            hashes,
        },
    )
}

fn rewritten(redaction: Redaction) -> Value {
    match redaction {
        Redaction::Rewrite(bytes) => serde_json::from_slice(&bytes).unwrap(),
        other => panic!("expected a rewrite, got {other:?}"),
    }
}

#[test]
fn a_shared_body_keeps_only_the_other_contacts_elements() {
    let redacted = rewritten(redact(&batch(), &hashes_of(Some(A), None)));
    let value = &redacted["entry"][0]["changes"][0]["value"];
    assert_eq!(value["contacts"], json!([contact(B, "Bob")]));
    assert_eq!(
        value["messages"],
        json!([text_message("wamid.B1", B, "from bob")])
    );
    assert_eq!(value["statuses"], json!([status("wamid.OUT.B", B)]));
    assert_eq!(value["metadata"]["phone_number_id"], "1234567890");
    let text = redacted.to_string();
    assert!(!text.contains(A) && !text.contains("Alice") && !text.contains("from alice"));
}

#[test]
fn operator_formatting_of_the_number_does_not_matter() {
    let redacted = rewritten(redact(&batch(), &hashes_of(Some("+1 555-000-1111"), None)));
    assert!(!redacted.to_string().contains(A));
}

#[test]
fn a_body_of_the_contact_alone_is_deleted() {
    let only_a = body(json!({
        "contacts": [contact(A, "Alice")],
        "messages": [text_message("wamid.A1", A, "hi"), text_message("wamid.A2", A, "again")],
    }));
    assert_eq!(
        redact(&only_a, &hashes_of(Some(A), None)),
        Redaction::Delete
    );
    // Value-level errors name nobody: with no message or status left the body goes too.
    let with_error = body(json!({
        "contacts": [contact(A, "Alice")],
        "messages": [text_message("wamid.A1", A, "hi")],
        "errors": [{"code": 131000, "title": "Something went wrong"}],
    }));
    assert_eq!(
        redact(&with_error, &hashes_of(Some(A), None)),
        Redaction::Delete
    );
}

#[test]
fn a_body_without_the_contact_is_unchanged_and_junk_is_left_alone() {
    let only_b = body(json!({
        "contacts": [contact(B, "Bob")],
        "messages": [text_message("wamid.B1", B, "hi")],
    }));
    assert_eq!(
        redact(&only_b, &hashes_of(Some(A), None)),
        Redaction::Unchanged
    );
    assert_eq!(
        redact(b"not json {", &hashes_of(Some(A), None)),
        Redaction::NotJson
    );
    assert_eq!(
        redact(b"[1,2,3]", &hashes_of(Some(A), None)),
        Redaction::Unchanged
    );
}

#[test]
fn user_ids_match_directly_and_through_the_contacts_entry() {
    // A message naming only the business-scoped user id, its wa_id given in contacts[].
    let listed = body(json!({
        "contacts": [{"profile": {"name": "Alice"}, "wa_id": A, "user_id": A_USER}, contact(B, "Bob")],
        "messages": [
            {"from_user_id": A_USER, "id": "wamid.A1", "type": "text", "text": {"body": "hi"}},
            text_message("wamid.B1", B, "hello"),
        ],
    }));
    for hashes in [hashes_of(Some(A), None), hashes_of(None, Some(A_USER))] {
        let redacted = rewritten(redact(&listed, &hashes));
        let value = &redacted["entry"][0]["changes"][0]["value"];
        assert_eq!(value["messages"].as_array().map(Vec::len), Some(1));
        assert_eq!(value["messages"][0]["id"], "wamid.B1");
        assert_eq!(value["contacts"], json!([contact(B, "Bob")]));
    }
    // Statuses with only recipient_user_id.
    let statuses = body(json!({
        "statuses": [
            {"id": "wamid.OUT.A", "status": "read", "recipient_user_id": A_USER},
            status("wamid.OUT.B", B),
        ],
    }));
    let redacted = rewritten(redact(&statuses, &hashes_of(None, Some(A_USER))));
    assert_eq!(
        redacted["entry"][0]["changes"][0]["value"]["statuses"],
        json!([status("wamid.OUT.B", B)])
    );
}

#[test]
fn several_changes_and_entries_are_all_redacted() {
    let two = json!({
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [
                {"field": "messages", "value": {"contacts": [contact(A, "Alice")], "messages": [text_message("wamid.A1", A, "x")]}},
                {"field": "messages", "value": {"statuses": [status("wamid.OUT.B", B)]}},
            ]},
            {"id": "2", "changes": [
                {"field": "messages", "value": {"statuses": [status("wamid.OUT.A", A)]}},
            ]},
        ]
    })
    .to_string()
    .into_bytes();
    let hasher = hasher();
    let hashes = hashes_of(Some(A), None);
    let split = split_journal(
        &two,
        &ContactMatcher {
            hasher: &hasher,
            hashes: &hashes,
        },
    )
    .unwrap();
    assert_eq!(split.remaining, 1);
    assert_eq!(split.contact.messages.len(), 1);
    assert_eq!(split.contact.statuses.len(), 1);
    assert_eq!(split.contact.contacts, vec![contact(A, "Alice")]);
    assert!(!split.rest.to_string().contains(A));
}

#[test]
fn contact_ids_are_checked_without_echoing_them() {
    let hasher = hasher();
    let none = ContactIds::default();
    assert_eq!(
        ContactHashes::of(&hasher, &none).unwrap_err(),
        ContactError::Missing
    );
    let letters = ContactIds {
        wa_id: Some("alice".to_owned()),
        user_id: None,
    };
    let error = ContactHashes::of(&hasher, &letters).unwrap_err();
    assert!(!error.to_string().contains("alice"));
    assert!(!format!("{letters:?}").contains("alice"));
    let hashes = hashes_of(Some(A), None);
    assert_eq!(hashes.audit_id().len(), 16);
    assert!(!hashes
        .audit_id()
        .contains(hashes.wa.first().unwrap().as_str()));
}

/// The webhook's in-memory world after one batch of two contacts, and the contact hasher it used.
async fn ingested() -> (crate::testkit::memory::MemoryIngest, ContactHasher) {
    use crate::testkit::memory::MemoryIngest;
    let secret =
        r#"{"app_id": "42", "app_secret": "s", "verify_token": "v", "access_token": "EAAG-t"}"#;
    let world = MemoryIngest::new(secret);
    let body = batch();
    let header = crate::webhook::signature::signature_header(b"s", &body);
    world
        .ingest
        .handle(crate::ingest::WebhookRequest::Delivery {
            signature: Some(&header),
            body: &body,
        })
        .await;
    let key =
        crate::secrets::parse_contact_hash_key("hash", "0123456789abcdef0123456789abcdef").unwrap();
    (world, ContactHasher::new(key))
}

fn ids(wa_id: &str) -> ContactIds {
    ContactIds {
        wa_id: Some(wa_id.to_owned()),
        user_id: None,
    }
}

#[tokio::test]
async fn erasure_over_the_typed_items_leaves_tombstones_and_the_other_contact() {
    use crate::clock::Clock;
    use crate::records::{ItemKey, ItemKind};
    use crate::testkit::memory::MemoryIngest;
    let (world, hasher) = ingested().await;
    assert_eq!(world.records.records_len(), 4);
    let eraser = Eraser {
        records: world.records.clone(),
        journal: world.journal.clone(),
        objects: world.journal.clone(),
        clock: world.clock.clone(),
        metrics: world.metrics.clone(),
        hasher,
        concurrency: 1,
    };

    let report = eraser.erase(&ids(A)).await.unwrap();
    assert_eq!(
        report,
        ErasureReport {
            records_erased: 2,
            media_objects_deleted: 0,
            bytes_freed: report.bytes_freed,
            journal_objects_redacted: 1,
            journal_objects_deleted: 0,
            journal_objects_unreadable: 0,
            journal_links_deleted: 1,
        }
    );
    assert!(report.bytes_freed > 0);
    let items = world.records.items.lock().unwrap().clone();
    let key = |wamid: &str| ItemKey::message(&MemoryIngest::message_key(wamid));
    let tombstone = &items[&key("wamid.A1")];
    assert_eq!(tombstone.kind, Some(ItemKind::Erased));
    assert_eq!(tombstone.erased_at, Some(world.clock.now_epoch_seconds()));
    assert!(tombstone.expires_at.is_some());
    assert_eq!(
        (
            tombstone.contact_wa_hash.as_deref(),
            tombstone.raw.as_deref()
        ),
        (None, None)
    );
    assert_eq!(items[&key("wamid.B1")].kind, Some(ItemKind::Message));
    assert_eq!(
        world
            .records
            .count_kind(crate::records::RecordKind::JournalLink),
        1
    );
    let journal = world.journal.objects.lock().unwrap().clone();
    let body = String::from_utf8(journal.values().next().unwrap().clone()).unwrap();
    assert!(!body.contains(A) && body.contains(B));
    assert_eq!(world.metrics.get("RecordsErased"), 2);

    let again = eraser.erase(&ids(A)).await.unwrap();
    assert_eq!(
        again,
        ErasureReport::default(),
        "a second run finds nothing"
    );
}

#[tokio::test]
async fn export_writes_every_attribute_with_raw_parsed_back() {
    let (world, hasher) = ingested().await;
    let exporter = Exporter {
        records: world.records.clone(),
        journal: world.journal.clone(),
        media: world.journal.clone(),
        clock: world.clock.clone(),
        hasher,
        progress_every: 100,
    };
    let out = std::env::temp_dir().join(format!("wavault-export-unit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let report = exporter.export(&ids(B), &out, &|_| {}).await.unwrap();
    assert_eq!((report.records, report.journal_objects), (2, 1));

    let records: Vec<Value> =
        serde_json::from_slice(&std::fs::read(out.join("records.json")).unwrap()).unwrap();
    let message = records
        .iter()
        .find(|r| r["sk"] == "message")
        .expect("B's message");
    assert_eq!(message["raw"], text_message("wamid.B1", B, "from bob"));
    assert_eq!(message["kind"], "message");
    assert_eq!(message["type"], "text");
    assert!(message["expires_at"].is_i64() && message["expiry_slot"].is_string());
    assert_eq!(
        message["pk"],
        crate::testkit::memory::MemoryIngest::message_key("wamid.B1"),
        "the key is the hash; the wamid is in raw"
    );
    assert!(message["contact_wa_hash"].is_string());
    let names: Vec<&String> = message.as_object().unwrap().keys().collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted: {names:?}");
    let status = records.iter().find(|r| r["sk"] != "message").unwrap();
    assert_eq!(status["raw"], self::status("wamid.OUT.B", B));
    let everything = std::fs::read_to_string(out.join("records.json")).unwrap()
        + &std::fs::read_to_string(out.join("journal.json")).unwrap();
    assert!(!everything.contains(A) && !everything.contains("from alice"));
    std::fs::remove_dir_all(&out).unwrap();
}
