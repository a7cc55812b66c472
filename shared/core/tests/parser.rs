//! The parser and planner on every documented message type (fixtures in tests/fixtures/webhooks),
//! unknown types and fields, statuses, value-level errors and a 1000-update batch; and on drifted
//! bodies (tests/fixtures/drifted): fields of another type than documented, elements that cannot
//! be identified.
// Test code: failing loudly is the point (the workspace lints deny these in the crates themselves).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use wavault_core::contact::{ContactHasher, RecordIdKind};
use wavault_core::ingest::{IngestPlan, PlanContext};
use wavault_core::records;
use wavault_core::records::RecordKind;
use wavault_core::retention::RetentionPolicy;
use wavault_core::testkit::samples;
use wavault_core::webhook::{parse_notification, Content, MediaKind, ParseError};

fn fixture(name: &str) -> Vec<u8> {
    fixture_in("webhooks", name)
}

/// A body whose fields drifted from Meta's documented types (tests/fixtures/drifted).
fn drifted(name: &str) -> Vec<u8> {
    fixture_in("drifted", name)
}

fn fixture_in(dir: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/{dir}/{name}.json",
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
    let read: Vec<_> = plan
        .records
        .iter()
        .filter(|r| r.kind != RecordKind::Unreadable)
        .collect();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].pk, key("wamid.OK"));
    assert_eq!(plan.malformed_elements, 2);
    assert_eq!(
        plan.count(RecordKind::Unreadable),
        2,
        "each kept on its own"
    );
}

// --- Drifted bodies ----------------------------------------------------------------------------

/// The partition key of an unreadable element of `body` at `position`
/// (`<entry>.<change>.<array>.<index>`).
fn unreadable_key(body: &[u8], position: &str) -> String {
    let sha = records::body_sha256_hex(body);
    ContactHasher::new(HASH_KEY).record_key(
        RecordIdKind::Unreadable,
        &format!("unreadable.{}.{position}", &sha[..32]),
    )
}

/// The plan's unreadable records as `(sort key, raw)`, in body order.
fn unreadable_of(plan: &IngestPlan) -> Vec<(&str, &str)> {
    plan.records
        .iter()
        .filter(|r| r.kind == RecordKind::Unreadable)
        .map(|r| (r.sk.as_str(), r.raw.as_str()))
        .collect()
}

fn hash(kind: wavault_core::contact::ContactIdKind, id: &str) -> String {
    ContactHasher::new(HASH_KEY).hash(kind, id)
}

#[test]
fn a_contacts_entry_with_a_name_that_is_no_string_costs_nothing() {
    let plan = plan_of(&drifted("contacts_profile_name_object"));
    assert_eq!(plan.malformed_elements, 0);
    assert_eq!(plan.records.len(), 1);
    let record = &plan.records[0];
    assert_eq!(
        (record.kind, record.pk.as_str()),
        (RecordKind::Message, key("wamid.DRIFT.CONTACTS").as_str())
    );
    use wavault_core::contact::ContactIdKind;
    assert_eq!(
        record.contact_wa_hash,
        Some(hash(ContactIdKind::WaId, "15550001111"))
    );
    assert_eq!(
        record.contact_user_hash,
        Some(hash(ContactIdKind::UserId, "US.13491208655302741918")),
        "the user id still completed from the drifted contacts[] entry"
    );
    // The other entries (a number for a name, a string for an entry, a number for a wa_id) are
    // read as far as they go; the links come from the mentions scan.
    let full = full_plan_of(&drifted("contacts_profile_name_object"));
    assert_eq!(
        full.count(RecordKind::JournalLink),
        2,
        "Ana and 15550002222"
    );
}

#[test]
fn a_number_in_the_metadata_or_the_entry_id_costs_nothing() {
    let plan = plan_of(&drifted("metadata_display_number"));
    assert_eq!(plan.malformed_elements, 0);
    assert_eq!(plan.records.len(), 1);
    let record = &plan.records[0];
    assert_eq!(record.pk, key("wamid.DRIFT.METADATA"));
    assert_eq!(record.phone_number_id.as_deref(), Some("1234567890"));
    assert_eq!(
        record.waba_id.as_deref(),
        Some("102290129340398"),
        "a numeric account id is the same id"
    );
    assert!(record.contact_wa_hash.is_some());
}

#[test]
fn a_from_user_id_that_is_a_number_reads_as_absent() {
    let (record, message) = {
        let plan = plan_of(&drifted("from_user_id_number"));
        assert_eq!(plan.malformed_elements, 0);
        assert_eq!(plan.records.len(), 1);
        let record = plan.records[0].clone();
        let message = wavault_core::webhook::parse::parse_message(&record.raw).expect("message");
        (record, message)
    };
    assert_eq!(record.pk, key("wamid.DRIFT.USERID"));
    assert_eq!(record.message_type.as_deref(), Some("text"));
    assert!(record.contact_wa_hash.is_some(), "the sender by number");
    assert!(record.contact_user_hash.is_none(), "not a user id");
    assert!(record.raw.contains("13491208655302741918"), "kept as sent");
    // The full model reads it too: the drifted fields are absent, the rest is there.
    assert_eq!(message.from_user_id, None);
    assert_eq!(message.timestamp, None);
    assert!(message.context.is_none());
    assert!(matches!(message.content(), Content::Text(t) if t.body.as_deref() == Some("hello")));
}

#[test]
fn a_media_object_with_a_numeric_mime_type_still_gives_its_media_job() {
    let plan = plan_of(&drifted("image_mime_type_number"));
    assert_eq!(plan.malformed_elements, 0);
    assert_eq!(plan.records.len(), 1);
    let record = &plan.records[0];
    assert_eq!(record.pk, key("wamid.DRIFT.IMAGE"));
    assert_eq!(record.message_type.as_deref(), Some("image"));
    let job = record.media_job().expect("one media job");
    assert_eq!(
        (job.media_id.as_str(), job.media_kind.as_str()),
        ("2001", "image")
    );
    assert_eq!(job.mime_type, None, "a number is no MIME type");
    assert_eq!(job.sha256, None, "a list is no digest");
    assert_eq!(job.phone_number_id.as_deref(), Some("1234567890"));
    let message = wavault_core::webhook::parse::parse_message(&record.raw).expect("message");
    let (kind, media) = message.media().expect("the full model reads it too");
    assert_eq!(
        (kind, media.id.as_deref(), media.mime_type.as_deref()),
        (MediaKind::Image, Some("2001"), None)
    );
    assert_eq!(media.url, None);
}

#[test]
fn a_numeric_media_id_is_the_same_id() {
    let body = samples::messages_body(
        "15550001111",
        vec![
            serde_json::json!({"from": "15550001111", "id": "wamid.NUM", "type": "audio",
            "audio": {"id": 1493318722875447_u64, "mime_type": "audio/ogg", "voice": "yes"}}),
        ],
    );
    let plan = plan_of(&body);
    let job = plan.records[0].media_job().expect("a job");
    assert_eq!(job.media_id, "1493318722875447");
    // A media object without a readable id names nothing to fetch: the message is kept, no job.
    let body = samples::messages_body(
        "15550001111",
        vec![
            serde_json::json!({"from": "15550001111", "id": "wamid.NOID", "type": "video",
            "video": {"id": 1.5, "mime_type": "video/mp4"}}),
        ],
    );
    let plan = plan_of(&body);
    assert_eq!(plan.records.len(), 1);
    assert_eq!(plan.records[0].message_type.as_deref(), Some("video"));
    assert!(plan.records[0].media_job().is_none());
}

#[test]
fn elements_that_cannot_be_identified_become_unreadable_records() {
    let body = drifted("unreadable_elements");
    let plan = plan_of(&body);
    assert_eq!(
        unreadable_of(&plan),
        [
            ("unreadable#0.0.messages.0", r#""wamid.DRIFT.A_STRING""#),
            (
                "unreadable#0.0.messages.1",
                r#"{"from":"15550001111","timestamp":"1763800000","type":"text","text":{"body":"sent without an id"}}"#
            ),
            (
                "unreadable#0.0.messages.2",
                r#"{"from":"15550001111","id":12345,"timestamp":"1763800001","type":"text","text":{"body":"a number for an id"}}"#
            ),
            (
                "unreadable#0.1.statuses.0",
                r#"{"id":"wamid.DRIFT.OUT1","timestamp":"1763800003","recipient_id":"15550001111"}"#
            ),
        ]
    );
    assert_eq!(
        plan.malformed_elements, 4,
        "the count is the unreadable records"
    );
    let unreadable: Vec<_> = plan
        .records
        .iter()
        .filter(|r| r.kind == RecordKind::Unreadable)
        .collect();
    for (record, position) in unreadable.iter().zip([
        "0.0.messages.0",
        "0.0.messages.1",
        "0.0.messages.2",
        "0.1.statuses.0",
    ]) {
        assert_eq!(record.pk, unreadable_key(&body, position), "{position}");
        assert_eq!(record.journal_key, plan.records[0].journal_key);
        assert_eq!(record.expires_at, NOW + 30 * 86_400);
        assert_eq!(record.phone_number_id.as_deref(), Some("1234567890"));
        assert!(record.media.is_none() && record.message_type.is_none());
    }
    // Who an unreadable element names is on it, so erasure and export find it.
    use wavault_core::contact::ContactIdKind;
    assert_eq!(unreadable[0].contact_wa_hash, None, "a string names no one");
    for record in &unreadable[1..] {
        assert_eq!(
            record.contact_wa_hash,
            Some(hash(ContactIdKind::WaId, "15550001111")),
            "{}",
            record.sk
        );
    }
    assert!(
        unreadable[1].contact_user_hash.is_some(),
        "completed from contacts[]"
    );
    // Their readable siblings are all there.
    let read: Vec<_> = plan
        .records
        .iter()
        .filter(|r| r.kind != RecordKind::Unreadable)
        .map(|r| (r.pk.clone(), r.sk.as_str()))
        .collect();
    assert_eq!(
        read,
        [
            (key("wamid.DRIFT.READABLE"), "message"),
            (key("wamid.DRIFT.OUT2"), "status#delivered"),
        ]
    );
    // A redelivery maps to the same items.
    let again = plan_of(&body);
    let keys = |plan: &IngestPlan| -> Vec<(String, String)> {
        plan.records
            .iter()
            .map(|r| (r.pk.clone(), r.sk.clone()))
            .collect()
    };
    assert_eq!(keys(&plan), keys(&again));
}

#[test]
fn entries_changes_and_values_of_the_wrong_shape_are_kept_on_their_own() {
    let body = drifted("shape_drift");
    let plan = plan_of(&body);
    let sort_keys: Vec<&str> = unreadable_of(&plan).iter().map(|(sk, _)| *sk).collect();
    assert_eq!(
        sort_keys,
        [
            "unreadable#-.-.entry.0",
            "unreadable#1.-.changes.0",
            "unreadable#1.-.changes.1",
            "unreadable#1.2.value.-",
            "unreadable#1.3.messages.-",
            "unreadable#-.-.entry.2",
        ]
    );
    let raws: Vec<&str> = unreadable_of(&plan).iter().map(|(_, raw)| *raw).collect();
    assert_eq!(raws[0], r#""not an entry""#);
    assert_eq!(raws[1], "7");
    assert!(raws[2].starts_with(r#"{"field":12,"#), "{}", raws[2]);
    assert_eq!(raws[3], r#"["not","a","value"]"#);
    assert!(raws[4].contains("wamid.DRIFT.NOT_A_LIST") && raws[4].starts_with('{'));
    assert!(raws[5].starts_with(r#"{"id":"102290129340399""#));
    assert_eq!(plan.malformed_elements, 6);
    assert_eq!(
        plan.records[0].pk,
        unreadable_key(&body, "-.-.entry.0"),
        "positions key them"
    );
    // The readable status beside the list that is not one is recorded.
    let statuses: Vec<_> = plan
        .records
        .iter()
        .filter(|r| r.kind == RecordKind::Status)
        .map(|r| (r.pk.clone(), r.sk.as_str()))
        .collect();
    assert_eq!(statuses, [(key("wamid.DRIFT.OUT3"), "status#read")]);
    assert_eq!(plan.unhandled_changes, 0);
}

#[test]
fn a_drifted_batch_gives_every_identifiable_record() {
    let body = drifted("drifted_batch");
    let plan = plan_of(&body);
    let read: Vec<_> = plan
        .records
        .iter()
        .filter(|r| r.kind != RecordKind::Unreadable)
        .map(|r| (r.pk.clone(), r.sk.as_str()))
        .collect();
    assert_eq!(
        read,
        [
            (key("wamid.DRIFT.TEXT"), "message"),
            (key("wamid.DRIFT.USERID"), "message"),
            (key("wamid.DRIFT.IMAGE"), "message"),
            (key("wamid.DRIFT.OUT1"), "status#delivered"),
        ]
    );
    let jobs: Vec<_> = plan.records.iter().filter_map(|r| r.media_job()).collect();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].media_id, "2001");
    let sort_keys: Vec<&str> = unreadable_of(&plan).iter().map(|(sk, _)| *sk).collect();
    assert_eq!(
        sort_keys,
        [
            "unreadable#0.0.messages.3",
            "unreadable#0.0.messages.4",
            "unreadable#0.1.statuses.1",
        ]
    );
    assert_eq!(plan.malformed_elements, 3);
}

#[test]
fn an_unreadable_element_too_large_for_an_item_is_left_to_the_journal() {
    let big = "x".repeat(wavault_core::ingest::planner::UNREADABLE_RAW_MAX_BYTES);
    let body = samples::messages_body(
        "15550001111",
        vec![serde_json::json!({"from": "15550001111", "type": "text", "text": {"body": big}})],
    );
    let plan = plan_of(&body);
    assert_eq!(plan.malformed_elements, 1);
    let record = &plan.records[0];
    assert_eq!(record.kind, RecordKind::Unreadable);
    assert_eq!(record.sk, "unreadable#0.0.messages.0");
    assert!(record.raw.is_empty(), "the journal object holds it");
    assert!(record.contact_wa_hash.is_some());
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

/// Found while fuzzing notification parsing (tests/fuzz): an entry or a change giving a field twice failed the
/// parse of the whole body (journaled as unparsed, no record and no media job for any sibling).
/// Now that entry or change alone is one unreadable item.
#[test]
fn an_entry_or_a_change_giving_a_field_twice_costs_only_itself() {
    let message = r#"{"field": "messages", "value": {"messages": [{"id": "wamid.TWICE", "from": "15550001111", "type": "text", "text": {"body": "hi"}}]}}"#;
    let body = format!(
        r#"{{"object": "whatsapp_business_account", "entry": [
            {{"id": "1", "changes": [], "changes": []}},
            {{"id": "2", "changes": [{{"field": "messages", "field": "statuses", "value": {{}}}}, {message}]}}
        ]}}"#
    );
    let plan = plan_of(body.as_bytes());
    assert_eq!(
        plan.count(RecordKind::Message),
        1,
        "the sibling message is recorded"
    );
    assert!(plan.records.iter().any(|r| r.pk == key("wamid.TWICE")));
    let unreadable: Vec<&str> = unreadable_of(&plan).into_iter().map(|(sk, _)| sk).collect();
    assert_eq!(
        unreadable,
        ["unreadable#-.-.entry.0", "unreadable#1.-.changes.0"]
    );
    assert_eq!(plan.malformed_elements, 2);
}
