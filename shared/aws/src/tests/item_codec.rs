//! The codec against the table layout (docs/data.md "Records"): each item kind round-trips,
//! with the names and types the template's key schema, indexes and TTL rely on.

use super::*;
use wavault_core::records::{ItemKind, MediaRef, MediaStatus, Record, RecordKind, StoredItem};

/// A record key as the webhook derives it (a keyed hash of the wamid).
const PK: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn record(kind: RecordKind, sk: &str) -> Record {
    Record {
        pk: PK.to_owned(),
        sk: sk.to_owned(),
        kind,
        received_at: 1_795_000_000,
        expires_at: 1_797_592_000,
        journal_key: "journal/abc.json".to_owned(),
        waba_id: Some("waba".to_owned()),
        phone_number_id: Some("123".to_owned()),
        contact_wa_hash: Some("wa-hash".to_owned()),
        contact_user_hash: None,
        contact_parent_hash: None,
        contact_aliases: Vec::new(),
        message_type: None,
        status: None,
        error_code: None,
        raw: "{\"id\":\"wamid.A\"}".to_owned(),
        media: None,
    }
}

fn string(item: &DynamoItem, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        other => panic!("{name} is not a string: {other:?}"),
    }
}

fn number(item: &DynamoItem, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().unwrap(),
        other => panic!("{name} is not a number: {other:?}"),
    }
}

/// Encodes, checks the names, decodes and compares.
fn round_trip(item: &StoredItem, names: &[&str]) -> DynamoItem {
    let encoded = to_item(item).unwrap();
    let mut got: Vec<&str> = encoded.keys().map(String::as_str).collect();
    let mut want = names.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    let decoded: StoredItem = from_item(encoded.clone()).unwrap();
    assert_eq!(&decoded, item);
    encoded
}

#[test]
fn a_media_message_has_the_documented_layout() {
    let mut message = record(RecordKind::Message, "message");
    message.message_type = Some("image".to_owned());
    message.media = Some(MediaRef {
        media_id: "m1".to_owned(),
        kind: "image",
        mime_type: Some("image/jpeg".to_owned()),
        declared_sha256: Some("c2hh".to_owned()),
        deadline: 1_795_600_000,
    });
    let item = StoredItem::from(&message);
    let encoded = round_trip(
        &item,
        &[
            "pk",
            "sk",
            "kind",
            "received_at",
            "expires_at",
            "expiry_slot",
            "journal_key",
            "waba_id",
            "phone_number_id",
            "contact_wa_hash",
            "raw",
            "type",
            "media_id",
            "media_kind",
            "media_mime_type",
            "media_declared_sha256",
            "media_status",
            "media_deadline",
            "pending_shard",
        ],
    );
    assert_eq!(string(&encoded, "pk").as_deref(), Some(PK));
    assert_eq!(string(&encoded, "sk").as_deref(), Some("message"));
    assert_eq!(string(&encoded, "kind").as_deref(), Some("message"));
    assert_eq!(
        number(&encoded, "expires_at"),
        1_797_592_000,
        "TTL: a Number"
    );
    let shard = ItemKey::message(PK).shard(wavault_core::retention::EXPIRY_SHARDS);
    assert_eq!(
        string(&encoded, "expiry_slot"),
        Some(format!("{}#{shard}", 1_797_592_000 / 3600)),
        "the expiry index's key: a string, hour and shard"
    );
    assert_eq!(number(&encoded, "received_at"), 1_795_000_000);
    assert_eq!(number(&encoded, "media_deadline"), 1_795_600_000);
    assert_eq!(string(&encoded, "media_status").as_deref(), Some("pending"));
    assert_eq!(string(&encoded, "type").as_deref(), Some("image"));
    assert_eq!(
        string(&encoded, "pending_shard"),
        Some(wavault_core::media::pending_shard(PK))
    );
    assert_eq!(
        string(&encoded, "raw").as_deref(),
        Some("{\"id\":\"wamid.A\"}")
    );
}

#[test]
fn a_text_message_leaves_the_sparse_attributes_out() {
    let mut message = record(RecordKind::Message, "message");
    message.message_type = Some("text".to_owned());
    message.waba_id = Some(String::new());
    let encoded = to_item(&StoredItem::from(&message)).unwrap();
    for sparse in [
        "pending_shard",
        "media_status",
        "media_deadline",
        "contact_user_hash",
        "waba_id",
        "error_code",
    ] {
        assert!(!encoded.contains_key(sparse), "{sparse} must be absent");
    }
    assert!(
        !encoded
            .values()
            .any(|v| matches!(v, AttributeValue::Null(_))),
        "nothing is written as NULL"
    );
}

#[test]
fn statuses_errors_and_links_round_trip() {
    let mut status = record(RecordKind::Status, "status#failed");
    status.status = Some("failed".to_owned());
    status.error_code = Some(131_047);
    status.contact_user_hash = Some("user-hash".to_owned());
    let encoded = round_trip(
        &StoredItem::from(&status),
        &[
            "pk",
            "sk",
            "kind",
            "received_at",
            "expires_at",
            "expiry_slot",
            "journal_key",
            "waba_id",
            "phone_number_id",
            "contact_wa_hash",
            "contact_user_hash",
            "raw",
            "status",
            "error_code",
        ],
    );
    assert_eq!(number(&encoded, "error_code"), 131_047);
    assert_eq!(string(&encoded, "kind").as_deref(), Some("status"));

    let mut error = record(RecordKind::Error, "error");
    error.contact_wa_hash = None;
    error.error_code = Some(131_000);
    let encoded = to_item(&StoredItem::from(&error)).unwrap();
    assert_eq!(string(&encoded, "kind").as_deref(), Some("error"));
    assert!(!encoded.contains_key("contact_wa_hash"));

    let mut link = record(RecordKind::JournalLink, "contact#wa-hash");
    link.pk = "journal.abc".to_owned();
    link.raw = String::new();
    let encoded = round_trip(
        &StoredItem::from(&link),
        &[
            "pk",
            "sk",
            "kind",
            "received_at",
            "expires_at",
            "expiry_slot",
            "journal_key",
            "waba_id",
            "phone_number_id",
            "contact_wa_hash",
        ],
    );
    assert_eq!(string(&encoded, "kind").as_deref(), Some("journal-link"));

    // A link of a person with two numbers lists every id of theirs, as a list of strings.
    link.contact_parent_hash = Some("parent-hash".to_owned());
    link.contact_aliases = vec!["wa:wa-hash".to_owned(), "wa:old-wa-hash".to_owned()];
    let encoded = round_trip(
        &StoredItem::from(&link),
        &[
            "pk",
            "sk",
            "kind",
            "received_at",
            "expires_at",
            "expiry_slot",
            "journal_key",
            "waba_id",
            "phone_number_id",
            "contact_wa_hash",
            "contact_parent_hash",
            "contact_aliases",
        ],
    );
    assert!(matches!(
        encoded.get("contact_aliases"),
        Some(AttributeValue::L(aliases)) if aliases.len() == 2
    ));
}

#[test]
fn tombstones_and_the_checkpoint_hold_only_their_attributes() {
    let key = ItemKey::message(PK);
    let tombstone = StoredItem::tombstone(key.clone(), 1_796_000_000, Some(1_797_592_000));
    let encoded = round_trip(
        &tombstone,
        &["pk", "sk", "kind", "erased_at", "expires_at", "expiry_slot"],
    );
    assert_eq!(string(&encoded, "kind").as_deref(), Some("erased"));
    assert_eq!(number(&encoded, "erased_at"), 1_796_000_000);
    let without_expiry = StoredItem::tombstone(key, 1, None);
    round_trip(&without_expiry, &["pk", "sk", "kind", "erased_at"]);

    let checkpoint = StoredItem::checkpoint(
        ItemKey {
            pk: "sweep.retention".to_owned(),
            sk: "checkpoint".to_owned(),
        },
        498_000,
    );
    let encoded = round_trip(&checkpoint, &["pk", "sk", "kind", "next_hour"]);
    assert_eq!(string(&encoded, "kind").as_deref(), Some("checkpoint"));
    assert_eq!(number(&encoded, "next_hour"), 498_000);
}

#[test]
fn keys_values_and_odd_attributes() {
    let encoded = key(&ItemKey::message(PK)).unwrap();
    assert_eq!(encoded.len(), 2);
    assert_eq!(string(&encoded, "pk").as_deref(), Some(PK));
    assert_eq!(string(&encoded, "sk").as_deref(), Some("message"));
    assert_eq!(
        to_value(&ItemKind::Erased).unwrap(),
        AttributeValue::S("erased".to_owned())
    );
    assert_eq!(
        to_value(&MediaStatus::Archived).unwrap(),
        AttributeValue::S("archived".to_owned())
    );
    assert_eq!(to_value(&7_u64).unwrap(), AttributeValue::N("7".to_owned()));

    // What the codec reads leniently: other attributes, other types.
    let item: StoredItem = from_item(DynamoItem::from([
        ("pk".to_owned(), AttributeValue::S("w".to_owned())),
        ("sk".to_owned(), AttributeValue::S("message".to_owned())),
        (
            "kind".to_owned(),
            AttributeValue::S("archived-by-hand".to_owned()),
        ),
        ("media_bytes".to_owned(), AttributeValue::S("77".to_owned())),
        ("media_key".to_owned(), AttributeValue::Bool(true)),
        (
            "expires_at".to_owned(),
            AttributeValue::N("1795000000".to_owned()),
        ),
        (
            "note".to_owned(),
            AttributeValue::M(HashMap::from([(
                "x".to_owned(),
                AttributeValue::Bool(true),
            )])),
        ),
    ]))
    .unwrap();
    assert_eq!(item.kind, None);
    assert_eq!(item.media_bytes, Some(77));
    assert_eq!(item.media_key, None);
    assert_eq!(item.expires_at, Some(1_795_000_000));
    assert!(
        from_item::<StoredItem>(DynamoItem::new()).is_err(),
        "no key: not an item"
    );

    let image = StreamImage::from(HashMap::from([
        (
            "pk".to_owned(),
            serde_dynamo::AttributeValue::S("w".to_owned()),
        ),
        (
            "sk".to_owned(),
            serde_dynamo::AttributeValue::S("message".to_owned()),
        ),
        (
            "media_bytes".to_owned(),
            serde_dynamo::AttributeValue::N("5".to_owned()),
        ),
    ]));
    let item: StoredItem = from_image(image).unwrap();
    assert_eq!(item.media_bytes, Some(5));
}
