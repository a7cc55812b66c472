use super::*;
use crate::contact::{ContactIds, Eraser};
use crate::ingest::{WebhookRequest, WebhookResponse};
use crate::records::{ItemKey, ItemKind, MediaStatus, RecordKind};
use crate::testkit::memory::MemoryIngest;
use crate::testkit::samples;

const SECRET: &str =
    r#"{"app_id": "42", "app_secret": "s", "verify_token": "v", "access_token": "EAAG-t"}"#;
const A: &str = "15550001111";
const B: &str = "15550002222";

async fn deliver(world: &MemoryIngest, body: &[u8]) -> crate::ingest::IngestReport {
    let header = crate::webhook::signature::signature_header(b"s", body);
    match world
        .ingest
        .handle(WebhookRequest::Delivery {
            signature: Some(&header),
            body,
        })
        .await
    {
        WebhookResponse::Accepted(report) => report,
        other => panic!("not accepted: {other:?}"),
    }
}

/// A replayer over the world's own journal and a recorder with the same ports.
fn replayer(world: &MemoryIngest) -> Replayer {
    let recorder = &world.ingest.recorder;
    Replayer {
        recorder: Arc::new(Recorder {
            journal: recorder.journal.clone(),
            records: recorder.records.clone(),
            queue: recorder.queue.clone(),
            contact_hash_key: recorder.contact_hash_key.clone(),
            clock: recorder.clock.clone(),
            metrics: recorder.metrics.clone(),
            retention: recorder.retention,
            media_deadline_days: recorder.media_deadline_days,
        }),
        journal: world.journal.clone(),
        progress_every: 1,
        listing_limit: usize::MAX,
    }
}

fn all() -> ReplaySelection {
    ReplaySelection::Range {
        since: None,
        until: None,
        unparsed_only: false,
    }
}

#[tokio::test]
async fn a_replay_recreates_what_is_missing_and_changes_nothing_else() {
    let world = MemoryIngest::new(SECRET);
    let media = samples::messages_body(
        A,
        vec![samples::media_message(
            "wamid.RP.1",
            A,
            "image",
            "m-rp-1",
            "image/jpeg",
        )],
    );
    let text = samples::messages_body(B, vec![samples::text_message("wamid.RP.2", B, "hi")]);
    deliver(&world, &media).await;
    deliver(&world, &text).await;
    // The media was archived since (a later state), and one record was lost (say, by a bug).
    world.records.set_media_status(
        &MemoryIngest::message_key("wamid.RP.1"),
        MediaStatus::Archived,
    );
    let lost = ItemKey::message(&MemoryIngest::message_key("wamid.RP.2"));
    let original = world.records.items.lock().unwrap().remove(&lost).unwrap();
    world.queue.jobs.lock().unwrap().clear();

    let seen = std::sync::Mutex::new(Vec::new());
    let report = replayer(&world)
        .replay(&all(), &|p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_eq!(report.objects, 2);
    assert_eq!(report.records_created, 1, "{report:?}");
    assert!(report.records_already_present >= 1, "{report:?}");
    assert_eq!(
        report.media_jobs_enqueued, 0,
        "archived media is not fetched again"
    );
    let items = world.records.items.lock().unwrap().clone();
    assert_eq!(
        items[&lost], original,
        "recreated exactly, on its original clock"
    );
    assert_eq!(
        items[&ItemKey::message(&MemoryIngest::message_key("wamid.RP.1"))].media_status,
        Some(MediaStatus::Archived),
        "a later state is never overwritten"
    );
    assert_eq!(
        seen.lock().unwrap().last().map(|p| (p.done, p.total)),
        Some((2, 2))
    );

    // Twice is once.
    let again = replayer(&world).replay(&all(), &|_| {}).await.unwrap();
    assert_eq!(again.records_created, 0);
    assert_eq!(world.records.items.lock().unwrap().clone(), items);
}

#[tokio::test]
async fn an_unparsed_body_that_still_fails_is_counted_and_kept() {
    let world = MemoryIngest::new(SECRET);
    deliver(
        &world,
        b"{\"object\": \"whatsapp_business_account\", \"entry\": [",
    )
    .await;
    let report = replayer(&world)
        .replay(
            &ReplaySelection::Range {
                since: None,
                until: None,
                unparsed_only: true,
            },
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!((report.objects, report.still_unparsed), (1, 1));
    assert_eq!(world.journal.objects.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn keys_are_checked_missing_ones_counted_and_expired_ones_skipped() {
    let world = MemoryIngest::new(SECRET);
    let body = samples::messages_body(A, vec![samples::text_message("wamid.RP.3", A, "x")]);
    let report = deliver(&world, &body).await;
    let bad = replayer(&world)
        .replay(&ReplaySelection::Keys(vec!["media/x.jpg".into()]), &|_| {})
        .await;
    assert!(matches!(bad, Err(ReplayError::NotAJournalKey(_))));

    let absent = crate::records::journal_key(&"0".repeat(64), true);
    let counted = replayer(&world)
        .replay(
            &ReplaySelection::Keys(vec![report.journal_key.clone(), absent]),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!((counted.objects, counted.missing), (1, 1));

    // Received 31 days ago: past its 30-day retention, so not recorded again.
    world
        .journal
        .received_at
        .lock()
        .unwrap()
        .insert(report.journal_key.clone(), 1_763_800_000 - 31 * 86_400);
    world.records.items.lock().unwrap().clear();
    let skipped = replayer(&world).replay(&all(), &|_| {}).await.unwrap();
    assert_eq!((skipped.objects, skipped.expired), (0, 1));
    assert!(world.records.is_empty());
}

#[tokio::test]
async fn a_replay_after_an_erasure_brings_nothing_of_the_contact_back() {
    let world = MemoryIngest::new(SECRET);
    let body = samples::messages_body(A, vec![samples::text_message("wamid.RP.4", A, "secret")]);
    deliver(&world, &body).await;
    let key = crate::records::journal_key(&crate::records::body_sha256_hex(&body), true);
    let kept = world.journal.objects.lock().unwrap()[&key].clone();
    let eraser = Eraser {
        records: world.records.clone(),
        journal: world.journal.clone(),
        objects: world.journal.clone(),
        clock: world.clock.clone(),
        metrics: world.metrics.clone(),
        hasher: crate::contact::ContactHasher::new(MemoryIngest::HASH_KEY),
        concurrency: 1,
    };
    eraser
        .erase(&ContactIds {
            wa_id: Some(A.to_owned()),
            ..ContactIds::default()
        })
        .await
        .unwrap();
    // Say a backup put the old object back: the markers still keep the contact out.
    world
        .journal
        .objects
        .lock()
        .unwrap()
        .insert(key.clone(), kept);
    let report = replayer(&world)
        .replay(&ReplaySelection::Keys(vec![key]), &|_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.withheld, report.records_created),
        (1, 0),
        "{report:?}"
    );
    let items = world.records.items.lock().unwrap().clone();
    assert!(items
        .values()
        .all(|item| item.kind != Some(ItemKind::Message)));
    assert_eq!(
        world.records.count_kind(RecordKind::Message),
        0,
        "nothing of the contact recorded"
    );
}

/// A long replay as a series of short runs (a Lambda's time, a listing cut): each starts after the
/// last key the one before replayed, every object is replayed exactly once, and the last run says done.
#[tokio::test]
async fn a_replay_in_runs_covers_every_object_once() {
    let world = MemoryIngest::new(SECRET);
    for n in 0..7 {
        let wamid = format!("wamid.RUN.{n}");
        deliver(
            &world,
            &samples::messages_body(A, vec![samples::text_message(&wamid, A, "hi")]),
        )
        .await;
    }
    world.records.items.lock().unwrap().clear();
    let mut replayer = replayer(&world);
    replayer.listing_limit = 3;
    let mut start_after: Option<String> = None;
    let mut runs = 0;
    let mut objects = 0;
    loop {
        runs += 1;
        // Time for two objects per run.
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let keep_going = || calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2;
        let batch = replayer
            .replay_from(&all(), start_after.as_deref(), &keep_going, &|_| {})
            .await
            .unwrap();
        objects += batch.report.objects;
        assert_eq!(batch.report.records_already_present, 0, "nothing twice");
        match batch.next {
            Some(next) => {
                assert!(start_after.as_deref().is_none_or(|s| next.as_str() > s));
                start_after = Some(next);
            }
            None => break,
        }
        assert!(runs < 20, "the runs move on");
    }
    // Seven objects, two per run out of each listing of three: 2, 2, 2, then the last one.
    assert_eq!(objects, 7);
    assert_eq!(runs, 4);
    let messages = world
        .records
        .items
        .lock()
        .unwrap()
        .values()
        .filter(|item| item.kind == Some(ItemKind::Message))
        .count();
    assert_eq!(messages, 7, "every message recorded again");
}
