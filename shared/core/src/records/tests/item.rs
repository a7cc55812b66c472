//! The typed item: its attribute names, what a record is written as, lenient reads.

use super::*;
use crate::records::MediaRef;
use serde_json::json;

/// An item with every attribute set.
fn full() -> StoredItem {
    let text = |v: &str| Some(v.to_owned());
    StoredItem {
        key: ItemKey::message("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        kind: Some(ItemKind::Message),
        expires_at: Some(7_200),
        expiry_slot: text("2#7"),
        received_at: Some(100),
        journal_key: text("journal/j.json"),
        waba_id: text("waba"),
        phone_number_id: text("pn"),
        contact_wa_hash: text("wa-hash"),
        contact_user_hash: text("user-hash"),
        contact_parent_hash: text("parent-hash"),
        contact_aliases: Some(vec!["wa:wa-hash".to_owned(), "wa:old-hash".to_owned()]),
        raw: text("{}"),
        message_type: text("image"),
        status: text("failed"),
        error_code: Some(131_000),
        media_id: text("m1"),
        media_kind: text("image"),
        media_mime_type: text("image/jpeg"),
        media_declared_sha256: text("c2hh"),
        media_status: Some(MediaStatus::Archived),
        media_deadline: Some(600),
        pending_shard: text("3"),
        media_key: text("media/pn/m1.jpg"),
        media_sha256: text("ab"),
        media_bytes: Some(5),
        archived_at: Some(150),
        media_error: text("x"),
        failed_at: Some(160),
        media_next_attempt_at: Some(165),
        media_verified: Some(true),
        erased_at: Some(170),
        next_hour: Some(3),
    }
}

#[test]
fn the_attribute_constants_are_the_field_names() {
    let value = serde_json::to_value(full()).unwrap();
    let mut names: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut constants = attributes::ALL.to_vec();
    names.sort_unstable();
    constants.sort_unstable();
    assert_eq!(names, constants);
    assert_eq!(
        value[attributes::TYPE],
        "image",
        "`message_type` is stored as `type`"
    );
    assert_eq!(value[attributes::KIND], ItemKind::Message.as_str());
    assert_eq!(
        value[attributes::MEDIA_STATUS],
        MediaStatus::Archived.as_str()
    );
}

#[test]
fn kinds_and_statuses_round_trip_by_name() {
    for kind in [
        ItemKind::Message,
        ItemKind::Status,
        ItemKind::Error,
        ItemKind::JournalLink,
        ItemKind::Erased,
        ItemKind::Checkpoint,
    ] {
        assert_eq!(ItemKind::parse(kind.as_str()), Some(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    assert_eq!(RecordKind::JournalLink.as_str(), "journal-link");
    assert_eq!(ItemKind::Erased.as_str(), "erased");
    assert_eq!(ItemKind::parse("nonsense"), None);
    let full = full();
    let back: StoredItem = serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
    assert_eq!(back, full);
}

#[test]
fn a_record_is_written_with_only_what_it_has() {
    let pk = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let mut record = Record {
        pk: pk.to_owned(),
        sk: "message".to_owned(),
        kind: RecordKind::Message,
        received_at: 1_000,
        expires_at: 8_200,
        journal_key: "journal/j.json".to_owned(),
        waba_id: Some(String::new()),
        phone_number_id: Some("pn".to_owned()),
        contact_wa_hash: Some("h".to_owned()),
        contact_user_hash: None,
        contact_parent_hash: None,
        contact_aliases: Vec::new(),
        message_type: Some("text".to_owned()),
        status: None,
        error_code: None,
        raw: "{\"id\":\"wamid.A\"}".to_owned(),
        media: None,
    };
    let item = StoredItem::from(&record);
    let slot = format!(
        "2#{}",
        ItemKey::message(pk).shard(crate::retention::EXPIRY_SHARDS)
    );
    assert_eq!(
        serde_json::to_value(&item).unwrap(),
        json!({
            "pk": pk, "sk": "message", "kind": "message", "received_at": 1_000,
            "expires_at": 8_200, "expiry_slot": slot, "journal_key": "journal/j.json",
            "phone_number_id": "pn", "contact_wa_hash": "h", "type": "text",
            "raw": "{\"id\":\"wamid.A\"}"
        }),
        "empty and absent optional attributes are not written"
    );
    record.media = Some(MediaRef {
        media_id: "m1".to_owned(),
        kind: "image",
        mime_type: Some("image/jpeg".to_owned()),
        declared_sha256: None,
        deadline: 9_000,
    });
    let item = StoredItem::from(&record);
    assert_eq!(item.media_status, Some(MediaStatus::Pending));
    assert_eq!(item.pending_shard, Some(crate::media::pending_shard(pk)));
    assert_eq!(item.media_deadline, Some(9_000));
    assert_eq!(item.media_declared_sha256, None);
}

#[test]
fn reads_are_lenient_about_types() {
    let item: StoredItem = serde_json::from_value(json!({
        "pk": "w", "sk": "status#read", "kind": "something-new", "media_bytes": "77",
        "expires_at": 12.5, "journal_key": false, "media_key": "", "media_status": "pending",
        "contact_wa_hash": {"nested": [1]}, "error_code": -4, "extra": [1, 2]
    }))
    .unwrap();
    assert_eq!(item.key.sk, "status#read");
    assert_eq!(item.kind, None, "an unknown kind reads as none");
    assert_eq!(
        item.media_bytes,
        Some(77),
        "a numeric string reads as the number"
    );
    assert_eq!(item.expires_at, None);
    assert_eq!(item.journal_key, None);
    assert_eq!(item.media_key, None, "an empty string reads as absent");
    assert_eq!(item.media_status, Some(MediaStatus::Pending));
    assert_eq!(item.contact_wa_hash, None);
    assert_eq!(item.error_code, Some(-4));
    assert!(serde_json::from_value::<StoredItem>(json!({"sk": "message"})).is_err());
}

#[test]
fn tombstones_and_expiry() {
    let tombstone = StoredItem::tombstone(ItemKey::message("w"), 50, Some(60));
    assert!(tombstone.is_tombstone() && !tombstone.is_live(0));
    assert_eq!(
        serde_json::to_value(&tombstone).unwrap(),
        json!({"pk": "w", "sk": "message", "kind": "erased", "erased_at": 50, "expires_at": 60,
               "expiry_slot": format!("0#{}", ItemKey::message("w").shard(crate::retention::EXPIRY_SHARDS))})
    );
    let item = full();
    assert!(item.is_live(7_199));
    assert!(!item.is_live(7_200));
    assert!(StoredItem::default().is_live(i64::MAX), "no expiry: live");
}
