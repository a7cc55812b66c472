use crate::contact::ContactIdKind;
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
        parent_user_id: None,
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
    crate::contact::redact(
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
        Redaction::Unchanged
    );
    // Text that is not JSON but names the contact cannot be redacted safely: it goes.
    let truncated =
        format!(r#"{{"entry": [{{"changes": [{{"value": {{"contacts": [{{"wa_id": "{A}""#);
    assert_eq!(
        redact(truncated.as_bytes(), &hashes_of(Some(A), None)),
        Redaction::DeleteUnreadable
    );
    assert_eq!(
        redact(truncated.as_bytes(), &hashes_of(Some(B), None)),
        Redaction::Unchanged
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
    assert_eq!(split.contact.of("messages").len(), 1);
    assert_eq!(split.contact.of("statuses").len(), 1);
    assert_eq!(split.contact.of("contacts"), [contact(A, "Alice")]);
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
        parent_user_id: None,
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
        parent_user_id: None,
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
            journal_links_erased: 1,
            erasure_markers: 1,
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
    // B's link stays; A's is a tombstone (its key holds no contact hash either).
    assert_eq!(
        world
            .records
            .count_kind(crate::records::RecordKind::JournalLink),
        1
    );
    let a_hash = hasher_of_world().hash(ContactIdKind::WaId, A);
    for item in items.values() {
        let shown = format!("{item:?}");
        assert!(!shown.contains(&a_hash), "A's hash in {shown}");
    }
    let journal = world.journal.objects.lock().unwrap().clone();
    let body = String::from_utf8(journal.values().next().unwrap().clone()).unwrap();
    assert!(!body.contains(A) && body.contains(B));
    assert_eq!(world.metrics.get("RecordsErased"), 2);

    let again = eraser.erase(&ids(A)).await.unwrap();
    assert_eq!(
        again,
        ErasureReport {
            erasure_markers: 1,
            ..ErasureReport::default()
        },
        "a second run finds nothing (and renews the marker)"
    );
}

/// The contact-hash key [`ingested`] uses.
fn hasher_of_world() -> ContactHasher {
    let key =
        crate::secrets::parse_contact_hash_key("hash", "0123456789abcdef0123456789abcdef").unwrap();
    ContactHasher::new(key)
}

async fn deliver(
    world: &crate::testkit::memory::MemoryIngest,
    body: &[u8],
) -> crate::ingest::IngestReport {
    let header = crate::webhook::signature::signature_header(b"s", body);
    match world
        .ingest
        .handle(crate::ingest::WebhookRequest::Delivery {
            signature: Some(&header),
            body,
        })
        .await
    {
        crate::ingest::WebhookResponse::Accepted(report) => report,
        other => panic!("not accepted: {other:?}"),
    }
}

fn eraser_of(world: &crate::testkit::memory::MemoryIngest) -> Eraser {
    Eraser {
        records: world.records.clone(),
        journal: world.journal.clone(),
        objects: world.journal.clone(),
        clock: world.clock.clone(),
        metrics: world.metrics.clone(),
        hasher: hasher_of_world(),
        concurrency: 1,
    }
}

/// Every stored byte: items (debug form, with every attribute) and journal objects.
fn everything(world: &crate::testkit::memory::MemoryIngest) -> String {
    let items = world.records.items.lock().unwrap().clone();
    let journal = world.journal.objects.lock().unwrap().clone();
    let mut all = format!("{items:?}");
    for body in journal.values() {
        all.push_str(&String::from_utf8_lossy(body));
    }
    all
}

#[tokio::test]
async fn a_redelivered_body_stores_nothing_of_the_erased_contact() {
    let (world, _) = ingested().await;
    eraser_of(&world).erase(&ids(A)).await.unwrap();
    let before_b = world.records.records_len();

    // Meta redelivers the shared body: B's part is stored (already was), A's is not.
    let report = deliver(&world, &batch()).await;
    assert!(report.redacted && !report.withheld);
    let stored = everything(&world);
    for needle in [A, "from alice", "Alice", "wamid.A1", "wamid.OUT.A"] {
        assert!(!stored.contains(needle), "{needle} came back");
    }
    assert!(stored.contains("from bob"));
    assert_eq!(world.records.records_len(), before_b);

    // A body of A alone is withheld: nothing at all is written.
    let alone = body(json!({
        "contacts": [contact(A, "Alice")],
        "messages": [{"from": A, "id": "wamid.A2", "timestamp": "1763700000", "type": "text", "text": {"body": "old news"}}],
    }));
    let items_before = world.records.len();
    let report = deliver(&world, &alone).await;
    assert!(report.withheld);
    assert_eq!(world.records.len(), items_before);
    assert!(!everything(&world).contains("old news"));
    assert_eq!(world.metrics.get("WebhookWithheld"), 1);

    // What A sends after the erasure is new data, kept as any other.
    let later = crate::clock::Clock::now_epoch_seconds(world.clock.as_ref()) + 60;
    let new = body(json!({
        "contacts": [contact(A, "Alice")],
        "messages": [{"from": A, "id": "wamid.A3", "timestamp": later.to_string(), "type": "text", "text": {"body": "hello again"}}],
    }));
    let report = deliver(&world, &new).await;
    assert!(!report.redacted && !report.withheld);
    assert_eq!(report.records_created, 1);
    assert!(everything(&world).contains("hello again"));
}

#[tokio::test]
async fn one_id_finds_every_id_a_person_had() {
    let (world, _) = ingested().await;
    // A changes number to C, announced from the old number (no contacts[]).
    const C: &str = "15550003333";
    let change = body(json!({
        "messages": [{"from": A, "id": "wamid.SYS", "timestamp": "1763800100", "type": "system",
                      "system": {"body": "changed", "wa_id": C, "type": "user_changed_number", "previous_user_id": A_USER}}],
    }));
    deliver(&world, &change).await;
    let after = body(json!({
        "contacts": [contact(C, "Alice")],
        "messages": [text_message("wamid.C1", C, "from the new number")],
    }));
    deliver(&world, &after).await;

    // Erasing by the new number reaches the old number's data, and the reverse.
    let report = eraser_of(&world).erase(&ids(C)).await.unwrap();
    assert_eq!(report.records_erased, 4, "{report:?}");
    let stored = everything(&world);
    for needle in [A, C, A_USER, "from alice", "from the new number"] {
        assert!(!stored.contains(needle), "{needle} left");
    }
    assert!(stored.contains("from bob"));
}

#[tokio::test]
async fn bodies_under_other_fields_and_unparsed_bodies_are_linked_and_erased() {
    let world = crate::testkit::memory::MemoryIngest::new(
        r#"{"app_id": "42", "app_secret": "s", "verify_token": "v", "access_token": "EAAG-t"}"#,
    );
    let echo = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "smb_message_echoes", "value": {
            "metadata": {"display_phone_number": "15559990000", "phone_number_id": "1234567890"},
            "message_echoes": [{"from": "15559990000", "to": A, "id": "wamid.ECHO", "type": "text", "text": {"body": "sent from the app"}}]}}]}]
    })
    .to_string()
    .into_bytes();
    let report = deliver(&world, &echo).await;
    assert_eq!(report.unhandled_changes, 1);
    let truncated = format!(
        r#"{{"entry": [{{"changes": [{{"value": {{"contacts": [{{"wa_id": "{A}", "profile": {{"name": "Alice"#
    );
    let report = deliver(&world, truncated.as_bytes()).await;
    assert!(!report.parsed);
    // An account update names no one: a body item puts it on the retention clock.
    let account = br#"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}]}]}"#;
    deliver(&world, account).await;
    assert_eq!(
        world
            .records
            .count_kind(crate::records::RecordKind::JournalLink),
        2
    );
    assert_eq!(
        world
            .records
            .count_kind(crate::records::RecordKind::JournalBody),
        1
    );
    for item in world.records.items.lock().unwrap().values() {
        assert!(
            item.expires_at.is_some() && item.expiry_slot.is_some(),
            "{item:?}"
        );
    }

    let report = eraser_of(&world).erase(&ids(A)).await.unwrap();
    assert_eq!(
        (
            report.journal_objects_deleted,
            report.journal_objects_unreadable,
            report.journal_links_erased
        ),
        (2, 1, 2),
        "{report:?}"
    );
    let stored = everything(&world);
    assert!(
        !stored.contains(A) && !stored.contains("sent from the app") && !stored.contains("Alice")
    );
    assert!(stored.contains("VERIFIED_ACCOUNT"));
    for item in world.records.items.lock().unwrap().values() {
        assert!(
            item.expires_at.is_some() && item.expiry_slot.is_some(),
            "{item:?}"
        );
    }
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
