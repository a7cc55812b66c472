//! The webhook use case with in-memory ports: ordering, idempotency, failure mapping.
//! (The same behaviours are checked against moto through the real binary in tests/.)
// Test code: failing loudly is the point (the workspace lints deny these in the crates themselves).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;
use wavault_core::ingest::{WebhookRequest, WebhookResponse};
use wavault_core::records::MediaStatus;
use wavault_core::testkit::memory::MemoryIngest;
use wavault_core::testkit::samples;
use wavault_core::webhook::signature::signature_header;

const APP_SECRET: &str = "current-app-secret";

type World = MemoryIngest;

fn meta_secret(app_secret: &str, previous: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "app_id": "42", "app_secret": app_secret, "verify_token": "verify-me", "access_token": "EAAG-token"
    });
    if let Some(p) = previous {
        v["previous_app_secret"] = p.into();
    }
    v.to_string()
}

fn world() -> World {
    MemoryIngest::new(&meta_secret(APP_SECRET, None))
}

async fn deliver(w: &World, body: &[u8], secret: &str) -> WebhookResponse {
    let header = signature_header(secret.as_bytes(), body);
    w.ingest
        .handle(WebhookRequest::Delivery {
            signature: Some(&header),
            body,
        })
        .await
}

fn image_body() -> Vec<u8> {
    samples::messages_body(
        "15550001111",
        vec![samples::media_message(
            "wamid.IMG",
            "15550001111",
            "image",
            "555",
            "image/jpeg",
        )],
    )
}

#[tokio::test]
async fn handshake_echoes_the_challenge_only_for_the_right_token() {
    let w = world();
    let ok = w
        .ingest
        .handle(WebhookRequest::Handshake {
            mode: Some("subscribe"),
            verify_token: Some("verify-me"),
            challenge: Some("1158201444"),
        })
        .await;
    assert_eq!(ok, WebhookResponse::Challenge("1158201444".into()));
    for (mode, token, challenge) in [
        (Some("subscribe"), Some("wrong"), Some("1")),
        (Some("unsubscribe"), Some("verify-me"), Some("1")),
        (None, Some("verify-me"), Some("1")),
        (Some("subscribe"), None, Some("1")),
        (Some("subscribe"), Some("verify-me"), None),
    ] {
        let r = w
            .ingest
            .handle(WebhookRequest::Handshake {
                mode,
                verify_token: token,
                challenge,
            })
            .await;
        assert_eq!(
            r,
            WebhookResponse::Forbidden,
            "{mode:?} {token:?} {challenge:?}"
        );
    }
}

#[tokio::test]
async fn signed_delivery_journals_records_and_enqueues() {
    let w = world();
    let body = image_body();
    let WebhookResponse::Accepted(report) = deliver(&w, &body, APP_SECRET).await else {
        panic!("not accepted")
    };
    assert!(report.journal_was_new && report.parsed);
    assert_eq!(
        (
            report.messages,
            report.records_created,
            report.jobs_enqueued
        ),
        (1, 1, 1)
    );
    assert_eq!(
        w.journal
            .objects
            .lock()
            .unwrap()
            .get(&report.journal_key)
            .map(Vec::as_slice),
        Some(body.as_slice())
    );
    assert!(report.journal_key.starts_with("journal/") && report.journal_key.ends_with(".json"));
    assert_eq!(w.records.records_len(), 1);
    assert_eq!(
        w.records
            .count_kind(wavault_core::records::RecordKind::JournalLink),
        1,
        "one journal link for the one contact"
    );
    let jobs = w.queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].record.as_str(), jobs[0].media_id.as_str()),
        (MemoryIngest::message_key("wamid.IMG").as_str(), "555")
    );
    let job = serde_json::to_string(&jobs[0]).unwrap();
    assert!(
        !job.contains("wamid"),
        "the job names its record by key: {job}"
    );
    assert_eq!(w.metrics.get("RecordsCreated"), 1);
}

#[tokio::test]
async fn redeliveries_change_nothing() {
    let w = world();
    let body = samples::batch_body(30);
    let WebhookResponse::Accepted(first) = deliver(&w, &body, APP_SECRET).await else {
        panic!()
    };
    w.records.set_media_status_all_archived();
    for _ in 0..5 {
        let WebhookResponse::Accepted(again) = deliver(&w, &body, APP_SECRET).await else {
            panic!()
        };
        assert_eq!(again.journal_key, first.journal_key);
        assert!(!again.journal_was_new);
        assert_eq!((again.records_created, again.records_duplicate), (0, 30));
        assert_eq!(
            again.jobs_reenqueued, 0,
            "archived media is not fetched again"
        );
    }
    assert_eq!(w.journal.objects.lock().unwrap().len(), 1);
    assert_eq!(w.records.records_len(), 30);
    assert_eq!(w.queue.jobs().len(), first.jobs_enqueued);
}

#[tokio::test]
async fn a_redelivery_on_a_later_day_enqueues_the_same_object_key() {
    let w = world();
    let body = image_body();
    deliver(&w, &body, APP_SECRET).await;
    w.clock.advance(2 * 86_400);
    deliver(&w, &body, APP_SECRET).await;
    let jobs = w.queue.jobs();
    assert_eq!(jobs.len(), 2, "the pending media is enqueued again");
    assert_eq!(
        jobs[0].received_at, jobs[1].received_at,
        "the first receipt"
    );
    assert_eq!(
        wavault_core::media::media_key(&jobs[0], None),
        wavault_core::media::media_key(&jobs[1], None),
        "one record, one object key"
    );
}

#[tokio::test]
async fn a_lost_enqueue_is_healed_by_the_redelivery() {
    let w = world();
    let body = image_body();
    w.queue.fail.store(true, Ordering::SeqCst);
    assert_eq!(
        deliver(&w, &body, APP_SECRET).await,
        WebhookResponse::Unavailable
    );
    assert_eq!(
        w.records.records_len(),
        1,
        "the record was written before the enqueue failed"
    );
    assert!(w.queue.jobs().is_empty());

    w.queue.fail.store(false, Ordering::SeqCst);
    let WebhookResponse::Accepted(report) = deliver(&w, &body, APP_SECRET).await else {
        panic!()
    };
    assert_eq!((report.records_created, report.jobs_reenqueued), (0, 1));
    assert_eq!(w.queue.jobs().len(), 1);

    w.records.set_media_status(
        &MemoryIngest::message_key("wamid.IMG"),
        MediaStatus::Archived,
    );
    let WebhookResponse::Accepted(report) = deliver(&w, &body, APP_SECRET).await else {
        panic!()
    };
    assert_eq!(report.jobs_reenqueued, 0);
    assert_eq!(w.queue.jobs().len(), 1);
}

#[tokio::test]
async fn forged_or_unsigned_requests_store_nothing() {
    let w = world();
    let body = image_body();
    assert_eq!(
        deliver(&w, &body, "attacker-secret").await,
        WebhookResponse::Unauthorized
    );
    let unsigned = w
        .ingest
        .handle(WebhookRequest::Delivery {
            signature: None,
            body: &body,
        })
        .await;
    assert_eq!(unsigned, WebhookResponse::Unauthorized);
    assert!(w.journal.objects.lock().unwrap().is_empty());
    assert!(w.records.is_empty());
    assert!(w.queue.jobs().is_empty());
    assert_eq!(w.metrics.get("SignatureRejected"), 2);
}

#[tokio::test]
async fn a_mismatch_rereads_the_secret_at_most_once_per_ttl() {
    let w = world();
    let body = image_body();
    let reads_before = w.secrets.reads();
    // The operator rotated the app secret; our cache still holds the old one.
    w.ingest.meta_secret.get().await.unwrap();
    w.secrets
        .set("meta", &meta_secret("rotated-secret", Some(APP_SECRET)));
    assert!(matches!(
        deliver(&w, &body, "rotated-secret").await,
        WebhookResponse::Accepted(_)
    ));
    // Forgeries do not cause further reads within the TTL.
    for _ in 0..10 {
        assert_eq!(
            deliver(&w, &body, "forged").await,
            WebhookResponse::Unauthorized
        );
    }
    assert_eq!(
        w.secrets.reads() - reads_before,
        3,
        "hash key + initial + one forced refresh"
    );
    w.clock.advance(301);
    // The previous secret is still accepted during the change-over.
    assert!(matches!(
        deliver(
            &w,
            &samples::text_body("wamid.P", "15550001111", "x"),
            APP_SECRET
        )
        .await,
        WebhookResponse::Accepted(_)
    ));
}

#[tokio::test]
async fn unparseable_and_unknown_shapes_are_journaled_and_acknowledged() {
    let w = world();
    for body in [&b"this is not json"[..], br#"{"object":"instagram","entry":[]}"#, br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_update","value":{}}]}]}"#] {
        let WebhookResponse::Accepted(report) = deliver(&w, body, APP_SECRET).await else { panic!() };
        assert!(w.journal.objects.lock().unwrap().contains_key(&report.journal_key));
        assert_eq!(report.records_created, 0);
    }
    let keys: Vec<_> = w.journal.objects.lock().unwrap().keys().cloned().collect();
    assert_eq!(
        keys.iter()
            .filter(|k| k.starts_with("journal/unparsed/"))
            .count(),
        2
    );
    assert_eq!(w.metrics.get("WebhookUnparsed"), 2);
    assert_eq!(w.metrics.get("UnhandledChanges"), 1);
}

#[tokio::test]
async fn store_failures_answer_500_and_keep_the_journal() {
    let w = world();
    w.records.fail.store(true, Ordering::SeqCst);
    assert_eq!(
        deliver(&w, &image_body(), APP_SECRET).await,
        WebhookResponse::Unavailable
    );
    assert_eq!(
        w.journal.objects.lock().unwrap().len(),
        1,
        "journaled before records"
    );

    let w = world();
    w.journal.fail.store(true, Ordering::SeqCst);
    assert_eq!(
        deliver(&w, &image_body(), APP_SECRET).await,
        WebhookResponse::Unavailable
    );
    assert!(
        w.records.is_empty(),
        "nothing is recorded before the journal is durable"
    );

    // Whether a contact in the body was erased is known before anything is stored: when that
    // cannot be read, nothing is (Meta redelivers after the 500).
    let w = world();
    w.records.fail_marker_reads.store(true, Ordering::SeqCst);
    assert_eq!(
        deliver(&w, &image_body(), APP_SECRET).await,
        WebhookResponse::Unavailable
    );
    assert!(w.records.is_empty() && w.journal.objects.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_1000_update_batch_writes_every_record() {
    let w = world();
    let body = samples::batch_body(1000);
    let WebhookResponse::Accepted(report) = deliver(&w, &body, APP_SECRET).await else {
        panic!()
    };
    assert_eq!(report.records_created, 1000);
    assert_eq!(w.records.records_len(), 1000);
    assert_eq!(w.queue.jobs().len(), 333);
}

/// A drifted body (tests/fixtures/drifted/drifted_batch.json): a `contacts[]` entry whose name is
/// an object, a number for the business's display number, a number for a `from_user_id`, an
/// image whose `mime_type` is a number, an element that is a string, a message and a status
/// without what identifies them.
#[tokio::test]
async fn a_drifted_body_keeps_every_identifiable_record_its_media_job_and_the_unreadable() {
    let w = world();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/drifted/drifted_batch.json"
    );
    let body = std::fs::read(path).unwrap();
    let WebhookResponse::Accepted(report) = deliver(&w, &body, APP_SECRET).await else {
        panic!("not accepted")
    };
    assert!(report.parsed && report.journal_was_new);
    assert_eq!(
        (report.messages, report.statuses, report.malformed_elements),
        (3, 1, 3)
    );
    assert_eq!(
        (report.records_created, report.jobs_enqueued),
        (7, 1),
        "the unreadable elements are records too"
    );
    use wavault_core::records::{ItemKind, RecordKind};
    assert_eq!(w.records.records_len(), 7);
    assert_eq!(w.records.count_kind(RecordKind::Unreadable), 3);
    let jobs = w.queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].record.as_str(), jobs[0].media_id.as_str()),
        (
            MemoryIngest::message_key("wamid.DRIFT.IMAGE").as_str(),
            "2001"
        )
    );
    assert_eq!(jobs[0].mime_type, None);
    for wamid in [
        "wamid.DRIFT.TEXT",
        "wamid.DRIFT.USERID",
        "wamid.DRIFT.IMAGE",
    ] {
        assert!(
            w.records
                .items
                .lock()
                .unwrap()
                .contains_key(&wavault_core::records::ItemKey::message(
                    &MemoryIngest::message_key(wamid)
                )),
            "{wamid}"
        );
    }
    let unreadable: Vec<_> = w
        .records
        .items
        .lock()
        .unwrap()
        .values()
        .filter(|item| item.kind == Some(ItemKind::Unreadable))
        .cloned()
        .collect();
    for item in &unreadable {
        assert_eq!(
            item.journal_key.as_deref(),
            Some(report.journal_key.as_str())
        );
        assert!(item.expires_at.is_some() && item.expiry_slot.is_some());
        assert!(item.raw.as_deref().is_some_and(|raw| !raw.is_empty()));
        assert!(item.key.sk.starts_with("unreadable#"));
    }
    assert!(unreadable
        .iter()
        .any(|item| item.raw.as_deref() == Some(r#""wamid.DRIFT.A_STRING""#)));
    assert_eq!(w.metrics.get("MalformedElements"), 3);
    assert_eq!(w.metrics.get("RecordsCreated"), 7);

    // Meta redelivers: the same items, nothing new; the pending media is enqueued again.
    let WebhookResponse::Accepted(again) = deliver(&w, &body, APP_SECRET).await else {
        panic!("not accepted")
    };
    assert_eq!((again.records_created, again.records_duplicate), (0, 7));
    assert_eq!(again.malformed_elements, 3);
    assert_eq!(again.jobs_reenqueued, 1);
    assert_eq!(w.records.records_len(), 7);
}

#[tokio::test]
async fn a_failed_write_of_an_unreadable_element_answers_500() {
    let w = world();
    let body = samples::messages_body(
        "15550001111",
        vec![serde_json::json!({"from": "15550001111", "type": "text", "text": {"body": "no id"}})],
    );
    w.records.fail.store(true, Ordering::SeqCst);
    assert_eq!(
        deliver(&w, &body, APP_SECRET).await,
        WebhookResponse::Unavailable,
        "200 only when it is durable like any record"
    );
    w.records.fail.store(false, Ordering::SeqCst);
    let WebhookResponse::Accepted(report) = deliver(&w, &body, APP_SECRET).await else {
        panic!("not accepted")
    };
    assert_eq!((report.records_created, report.malformed_elements), (1, 1));
}
