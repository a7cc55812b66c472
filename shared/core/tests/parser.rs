//! The parser and planner on every documented message type (fixtures in tests/fixtures/webhooks),
//! unknown types and fields, statuses, value-level errors and a 1000-update batch.
// Test code: failing loudly is the point (the workspace lints deny these in the crates themselves).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use wavault_core::contact::{ContactHasher, RecordIdKind};
use wavault_core::ingest::{IngestPlan, PlanContext};
use wavault_core::records;
use wavault_core::records::RecordKind;
use wavault_core::retention::RetentionPolicy;
use wavault_core::webhook::{parse_notification, Content, MediaKind, ParseError};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/webhooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const NOW: i64 = 1_763_800_100;

/// The plan's records without its journal links (most tests look at records only).
fn plan_of(body: &[u8]) -> IngestPlan {
    let mut plan = full_plan_of(body);
    plan.records
        .retain(|r| r.kind != wavault_core::records::RecordKind::JournalLink);
    plan
}

const HASH_KEY: &[u8] = b"test-contact-hash-key";

/// The partition key a message id is stored under.
fn key(wamid: &str) -> String {
    ContactHasher::new(HASH_KEY).record_key(RecordIdKind::Message, wamid)
}

fn full_plan_of(body: &[u8]) -> IngestPlan {
    let notification = parse_notification(body).expect("parses");
    let hasher = ContactHasher::new(HASH_KEY);
    let sha = records::body_sha256_hex(body);
    wavault_core::ingest::plan(
        &notification,
        &PlanContext {
            received_at: NOW,
            retention: RetentionPolicy::days(30),
            hasher: &hasher,
            journal_key: &records::journal_key(&sha, true),
            body_sha256_hex: &sha,
            media_deadline_days: 7,
            people: &wavault_core::contact::HashedPeople::of(
                &wavault_core::contact::mentions(body),
                &hasher,
            ),
        },
    )
}

/// The one message of a single-message fixture, parsed again for content checks.
fn only_message(
    name: &str,
) -> (
    wavault_core::records::Record,
    wavault_core::webhook::Message,
) {
    let plan = plan_of(&fixture(name));
    assert_eq!(plan.records.len(), 1, "{name}");
    let record = plan.records[0].clone();
    let message = wavault_core::webhook::parse::parse_message(&record.raw).expect("message");
    (record, message)
}

#[test]
fn every_documented_message_type_is_modelled() {
    let cases: &[(&str, &str)] = &[
        ("text", "text"),
        ("image", "image"),
        ("audio_voice", "audio"),
        ("video", "video"),
        ("document", "document"),
        ("sticker", "sticker"),
        ("location", "location"),
        ("contacts", "contacts"),
        ("interactive_button_reply", "interactive"),
        ("interactive_list_reply", "interactive"),
        ("interactive_nfm_reply", "interactive"),
        ("button", "button"),
        ("reaction", "reaction"),
        ("reaction_removed", "reaction"),
        ("order", "order"),
        ("system", "system"),
        ("referral", "text"),
        ("forwarded", "text"),
        ("edit", "edit"),
        ("revoke", "revoke"),
    ];
    for (name, type_name) in cases {
        let (record, message) = only_message(name);
        assert_eq!(record.kind, RecordKind::Message, "{name}");
        assert_eq!(record.message_type.as_deref(), Some(*type_name), "{name}");
        let content = message.content();
        let matches = matches!(
            (type_name, &content),
            (&"text", Content::Text(_))
                | (&"image", Content::Media(MediaKind::Image, _))
                | (&"audio", Content::Media(MediaKind::Audio, _))
                | (&"video", Content::Media(MediaKind::Video, _))
                | (&"document", Content::Media(MediaKind::Document, _))
                | (&"sticker", Content::Media(MediaKind::Sticker, _))
                | (&"location", Content::Location(_))
                | (&"contacts", Content::Contacts(_))
                | (&"interactive", Content::Interactive(_))
                | (&"button", Content::Button(_))
                | (&"reaction", Content::Reaction(_))
                | (&"order", Content::Order(_))
                | (&"system", Content::System(_))
                | (&"edit", Content::Edit(_))
                | (&"revoke", Content::Revoke(_))
        );
        assert!(matches, "{name}: {content:?}");
    }
}

#[test]
fn typed_fields_carry_the_details() {
    let (_, m) = only_message("audio_voice");
    let (_, audio) = m.media().unwrap();
    assert_eq!(audio.voice, Some(true));
    assert_eq!(audio.mime_type.as_deref(), Some("audio/ogg; codecs=opus"));

    let (_, m) = only_message("interactive_nfm_reply");
    let reply = m.interactive.unwrap().nfm_reply.unwrap();
    let flow: serde_json::Value = serde_json::from_str(&reply.response_json.unwrap()).unwrap();
    assert_eq!(flow["a"], 1);

    let (_, m) = only_message("reaction_removed");
    assert!(m.reaction.unwrap().emoji.is_none(), "no emoji = removed");

    let (_, m) = only_message("referral");
    assert_eq!(m.referral.unwrap().ctwa_clid.as_deref(), Some("clid1"));

    let (_, m) = only_message("forwarded");
    assert_eq!(m.context.unwrap().frequently_forwarded, Some(true));

    let (_, m) = only_message("order");
    assert_eq!(m.order.unwrap().product_items.len(), 1);

    let (_, m) = only_message("edit");
    assert_eq!(
        m.edit.unwrap().original_message_id.as_deref(),
        Some("wamid.TEXT1")
    );

    let (_, m) = only_message("system");
    assert_eq!(
        m.system.unwrap().kind.as_deref(),
        Some("user_changed_number")
    );
}

#[test]
fn media_messages_plan_a_pending_media_ref_without_user_text() {
    for (name, kind, id) in [
        ("image", "image", "1001"),
        ("audio_voice", "audio", "1002"),
        ("video", "video", "1003"),
        ("document", "document", "1004"),
        ("sticker", "sticker", "1005"),
    ] {
        let (record, _) = only_message(name);
        let job = record.media_job().expect(name);
        assert_eq!(job.media_kind, kind);
        assert_eq!(job.media_id, id);
        assert_eq!(job.phone_number_id.as_deref(), Some("1234567890"));
        assert_eq!(job.received_at, NOW);
        let job_json = serde_json::to_string(&job).unwrap();
        for private in ["15550001111", "Ana", "passport", "caption", "my pic"] {
            assert!(!job_json.contains(private), "{name}: job carries {private}");
        }
    }
    let (record, _) = only_message("text");
    assert!(record.media_job().is_none());
}

#[test]
fn unknown_and_unsupported_types_are_kept_raw_not_rejected() {
    for (name, type_name) in [
        ("unsupported", "unsupported"),
        ("unknown", "unknown"),
        ("request_welcome", "request_welcome"),
        ("new_future_type", "hologram"),
    ] {
        let (record, message) = only_message(name);
        assert_eq!(record.message_type.as_deref(), Some(type_name));
        assert!(matches!(message.content(), Content::Other(t) if t == type_name));
        assert!(record.media.is_none());
    }
    let (record, _) = only_message("new_future_type");
    assert!(
        record.raw.contains("brand_new_field"),
        "unknown fields kept"
    );
    let (record, _) = only_message("unsupported");
    assert_eq!(record.error_code, Some(131051));
}

#[test]
fn records_expire_by_our_clock_not_metas_timestamp() {
    let (record, _) = only_message("text");
    assert_eq!(record.received_at, NOW);
    assert_eq!(record.expires_at, NOW + 30 * 86_400);
}

#[test]
fn contacts_are_hashed_and_never_raw() {
    let (record, _) = only_message("text");
    let wa_hash = record.contact_wa_hash.clone().unwrap();
    assert_eq!(wa_hash.len(), 32);
    assert!(!wa_hash.contains("15550001111"));
    assert!(record.contact_user_hash.is_none());

    let (record, _) = only_message("user_id_only");
    assert!(record.contact_wa_hash.is_none());
    assert!(record.contact_user_hash.is_some());

    let plan = plan_of(&fixture("batch"));
    let b3 = plan
        .records
        .iter()
        .find(|r| r.pk == key("wamid.B3"))
        .unwrap();
    assert!(
        b3.contact_wa_hash.is_some() && b3.contact_user_hash.is_some(),
        "user_id completed from contacts[]"
    );
}

#[test]
fn statuses_are_keyed_by_their_messages_hashed_id_and_status() {
    let plan = plan_of(&fixture("status_delivered"));
    assert_eq!(plan.records.len(), 1);
    let r = &plan.records[0];
    assert_eq!(
        (r.kind, r.pk.as_str(), r.sk.as_str()),
        (
            RecordKind::Status,
            key("wamid.OUT1").as_str(),
            "status#delivered"
        )
    );
    assert!(r.raw.contains("wamid.OUT1"), "the id itself stays in raw");
    assert!(r.contact_wa_hash.is_some());

    let plan = plan_of(&fixture("status_failed"));
    assert_eq!(plan.records[0].error_code, Some(131047));
}

#[test]
fn value_level_errors_get_a_deterministic_record() {
    let body = fixture("value_errors");
    let a = plan_of(&body);
    let b = plan_of(&body);
    assert_eq!(a.records.len(), 1);
    assert_eq!(a.records[0].kind, RecordKind::Error);
    assert_eq!(a.records[0].error_code, Some(131052));
    assert_eq!(a.records[0].pk, b.records[0].pk);
    let sha = records::body_sha256_hex(&body);
    let id = format!("error.{}.0.0.0", &sha[..32]);
    assert_eq!(
        a.records[0].pk,
        ContactHasher::new(HASH_KEY).record_key(RecordIdKind::Error, &id),
        "the synthetic id, hashed as an error id"
    );
}

#[test]
fn other_fields_are_counted_not_recorded() {
    let plan = plan_of(&fixture("other_field"));
    assert!(plan.records.is_empty());
    assert_eq!(plan.unhandled_changes, 1);
}

#[test]
fn every_entry_change_and_element_of_a_batch_is_planned() {
    let plan = plan_of(&fixture("batch"));
    let ids: Vec<_> = plan
        .records
        .iter()
        .map(|r| (r.pk.clone(), r.sk.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (key("wamid.B1"), "message"),
            (key("wamid.B2"), "message"),
            (key("wamid.B3"), "message"),
            (key("wamid.OUT1"), "status#read"),
            (key("wamid.OUT1"), "status#sent"),
        ]
    );
}

#[test]
fn a_1000_update_batch_plans_1000_records() {
    let body = wavault_core::testkit::samples::batch_body(1000);
    assert!(
        body.len() < 3 * 1024 * 1024,
        "within Meta's 3 MB payload limit"
    );
    let plan = full_plan_of(&body);
    let (links, records): (Vec<_>, Vec<_>) = plan
        .records
        .iter()
        .partition(|r| r.kind == wavault_core::records::RecordKind::JournalLink);
    assert_eq!(records.len(), 1000);
    assert_eq!(plan.malformed_elements, 0);
    assert_eq!(records.iter().filter(|r| r.media.is_some()).count(), 333);
    let unique: std::collections::HashSet<_> = records.iter().map(|r| (&r.pk, &r.sk)).collect();
    assert_eq!(unique.len(), 1000);
    // One journal link per distinct contact of the body.
    let contacts: std::collections::HashSet<_> = records
        .iter()
        .filter_map(|r| r.contact_wa_hash.as_ref())
        .collect();
    assert_eq!(links.len(), contacts.len());
    assert!(links
        .iter()
        .all(|l| l.journal_key == records[0].journal_key));
}

#[test]
fn malformed_elements_do_not_hide_their_siblings() {
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[{"no_id":true},{"id":"wamid.OK","type":"text","text":{"body":"x"}}],"statuses":[{"id":"wamid.S"}]}}]}]}"#;
    let plan = plan_of(body);
    assert_eq!(plan.records.len(), 1);
    assert_eq!(plan.records[0].pk, key("wamid.OK"));
    assert_eq!(plan.malformed_elements, 2);
}

#[test]
fn bodies_that_are_not_whatsapp_notifications_say_why() {
    assert!(matches!(
        parse_notification(b"not json"),
        Err(ParseError::NotJson { .. })
    ));
    assert_eq!(
        parse_notification(br#"{"object":"page","entry":[]}"#).err(),
        Some(ParseError::UnexpectedObject)
    );
    assert!(matches!(
        parse_notification(b"[1,2]"),
        Err(ParseError::NotJson { .. })
    ));
}
