//! Planning (`wavault_core::ingest::planner`: a body to records, media jobs and journal links, with the contact
//! mentions walker `wavault_core::contact::mentions`) on arbitrary bodies.
//!
//! Checks that planning and the mentions walk are deterministic; that every partition key is a keyed hash
//! (32 lowercase hex) or the body's journal-link key and every sort key has one of the documented shapes, so no key
//! ever holds a phone number or another id from the body outside a keyed hash (checked too against every run of 10
//! or more digits in the body and every normalised `wa_id` it mentions); that each element record keeps its element as sent; that
//! counts, expiry and media deadlines are what the plan says; and that every person mentioned gets a journal link.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavault_core::contact::{mentions, ContactHasher, ContactIdKind, HashedPeople};
use wavault_core::ingest::{journal_link_id, plan, IngestPlan, PlanContext};
use wavault_core::records::{body_sha256_hex, journal_key, Record, RecordKind};
use wavault_core::retention::RetentionPolicy;
use wavault_core::webhook::parse_notification;

const HASH_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const RECEIVED_AT: i64 = 1_763_800_000;
const MEDIA_DEADLINE_DAYS: u32 = 7;
const MEDIA_KINDS: &[&str] = &["image", "audio", "video", "document", "sticker"];
const POSITION_ARRAYS: &[&str] = &[
    "entry", "changes", "value", "messages", "statuses", "errors",
];

fn is_keyed_hash(key: &str) -> bool {
    key.len() == 32
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `<entry>.<change>.<array>.<index>`, `-` where a level does not apply.
fn is_position(at: &str) -> bool {
    let parts: Vec<&str> = at.split('.').collect();
    let level = |p: &str| p == "-" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    parts.len() == 4
        && level(parts[0])
        && level(parts[1])
        && POSITION_ARRAYS.contains(&parts[2])
        && level(parts[3])
}

/// Maximal runs of at least 10 ASCII digits (a phone number with its country code).
fn digit_runs(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|b| !b.is_ascii_digit())
        .filter(|run| run.len() >= 10)
        .map(<[u8]>::to_vec)
        .collect()
}

/// A key with its keyed-hash parts (32 lowercase hex after `journal.`, `contact#`, or the whole key) left out.
fn without_hashes(key: &str) -> String {
    if is_keyed_hash(key) {
        return String::new();
    }
    for prefix in ["journal.", "contact#"] {
        if let Some(rest) = key.strip_prefix(prefix) {
            if is_keyed_hash(rest) {
                return prefix.to_owned();
            }
        }
    }
    key.to_owned()
}

fn contains(haystack: &str, needle: &[u8]) -> bool {
    std::str::from_utf8(needle).is_ok_and(|needle| haystack.contains(needle))
}

fn check(body: &[u8], plan: &IngestPlan, ctx: &PlanContext<'_>, secrets: &[Vec<u8>]) {
    let link_pk = journal_link_id(ctx.body_sha256_hex);
    let text = std::str::from_utf8(body).ok();
    for record in &plan.records {
        let Record { pk, sk, kind, .. } = record;
        assert_eq!(record.received_at, RECEIVED_AT);
        assert_eq!(record.expires_at, ctx.retention.expires_at(RECEIVED_AT));
        assert_eq!(record.journal_key, ctx.journal_key);
        // The keys: a keyed hash, or the body's link partition; a documented sort key.
        let state = match kind {
            RecordKind::JournalLink | RecordKind::JournalBody => {
                assert_eq!(*pk, link_pk);
                None
            }
            _ => {
                assert!(
                    is_keyed_hash(pk),
                    "partition key {pk:?} is not a keyed hash"
                );
                None
            }
        };
        let state = match kind {
            RecordKind::Message => {
                assert_eq!(sk, "message");
                assert!(record.message_type.is_some());
                state
            }
            RecordKind::Status => {
                let status = record
                    .status
                    .as_deref()
                    .expect("a status record has its status");
                assert!(!status.is_empty());
                assert_eq!(*sk, format!("status#{status}"));
                Some(status)
            }
            RecordKind::Error => {
                assert_eq!(sk, "error");
                state
            }
            RecordKind::Unreadable => {
                let at = sk
                    .strip_prefix("unreadable#")
                    .expect("unreadable#<position>");
                assert!(is_position(at), "unreadable sort key {sk:?}");
                state
            }
            RecordKind::JournalLink => {
                let key = sk.strip_prefix("contact#").expect("contact#<key>");
                assert!(is_keyed_hash(key), "link sort key {sk:?}");
                assert!(
                    record.contact_wa_hash.is_some()
                        || record.contact_user_hash.is_some()
                        || record.contact_parent_hash.is_some()
                );
                state
            }
            RecordKind::JournalBody => {
                assert_eq!(sk, "body");
                state
            }
        };
        // No key holds a phone number or an id of the body (but a status's own state, as sent) outside its keyed
        // hashes, which the shapes above pin down. (Inside them a digit run of the body is chance, or the fuzzer
        // copying a hash it saw compared into some unrelated field: no leak.)
        let visible = [
            without_hashes(pk),
            without_hashes(state.map_or(sk.as_str(), |_| "status#")),
        ];
        for secret in secrets {
            for part in &visible {
                assert!(
                    !contains(part, secret),
                    "key {pk:?} / {sk:?} holds an id of the body"
                );
            }
        }
        for hash in [
            &record.contact_wa_hash,
            &record.contact_user_hash,
            &record.contact_parent_hash,
        ]
        .into_iter()
        .flatten()
        {
            assert!(is_keyed_hash(hash));
        }
        // Element records keep their element as sent.
        if matches!(
            kind,
            RecordKind::Message | RecordKind::Status | RecordKind::Error | RecordKind::Unreadable
        ) {
            if let Some(text) = text {
                assert!(
                    text.contains(record.raw.as_str()),
                    "raw is not a part of the body"
                );
            }
        } else {
            assert!(record.raw.is_empty());
        }
        match (&record.media, kind) {
            (None, _) => {}
            (Some(media), RecordKind::Message) => {
                assert!(!media.media_id.is_empty());
                assert!(MEDIA_KINDS.contains(&media.kind));
                assert_eq!(record.message_type.as_deref(), Some(media.kind));
                assert_eq!(
                    media.deadline,
                    RECEIVED_AT + i64::from(MEDIA_DEADLINE_DAYS) * 86_400
                );
            }
            (Some(_), kind) => panic!("a {kind:?} record with media"),
        }
    }
    assert_eq!(plan.malformed_elements, plan.count(RecordKind::Unreadable));
    // Every person mentioned has a journal link.
    let people = ctx.people.people.iter().filter(|p| !p.is_empty()).count();
    assert!(plan.count(RecordKind::JournalLink) >= people);
}

fuzz_target!(|body: &[u8]| {
    let hasher = ContactHasher::new(HASH_KEY);
    let found = mentions(body);
    assert_eq!(found, mentions(body), "the mentions walk is deterministic");
    for person in &found.people {
        assert!(!person.ids.is_empty());
        assert!(
            person.ids.windows(2).all(|w| w[0] < w[1]),
            "ids sorted, once each"
        );
        for id in &person.ids {
            assert!(!id.id.is_empty());
            assert_eq!(found.person_of(id).map(|p| &found.people[p]), Some(person));
        }
    }
    let people = HashedPeople::of(&found, &hasher);
    let Ok(notification) = parse_notification(body) else {
        return;
    };
    let sha = body_sha256_hex(body);
    let key = journal_key(&sha, true);
    let ctx = PlanContext {
        received_at: RECEIVED_AT,
        retention: RetentionPolicy::days(30),
        hasher: &hasher,
        journal_key: &key,
        body_sha256_hex: &sha,
        media_deadline_days: MEDIA_DEADLINE_DAYS,
        people: &people,
    };
    let first = plan(&notification, &ctx);
    let again = plan(&parse_notification(body).expect("parsed once"), &ctx);
    assert_eq!(first.records, again.records, "planning is deterministic");
    assert_eq!(first.unhandled_changes, again.unhandled_changes);
    assert_eq!(first.malformed_elements, again.malformed_elements);

    let mut secrets = digit_runs(body);
    for person in &found.people {
        for id in person.ids_of(ContactIdKind::WaId) {
            if id.len() >= 10 {
                secrets.push(id.as_bytes().to_vec());
            }
        }
    }
    check(body, &first, &ctx, &secrets);
});
