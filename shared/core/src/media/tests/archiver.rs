//! The archiver over in-memory ports: multipart error paths (the order of the store's calls),
//! the deadline, the size cap without `file_size`, media without a declared digest.

use super::*;
use crate::media::UNVERIFIED_SHARD_PREFIX;
use crate::testkit::media::{MemoryArchiver, PartFault, ScriptedMedia};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Nothing of the upload happens after its abort, and every part task that had not answered
/// was cancelled before it.
fn assert_parts_end_before_the_abort(events: &[String], cancelled: &[i32]) {
    let abort = events
        .iter()
        .position(|e| e == "abort")
        .unwrap_or_else(|| panic!("no abort: {events:?}"));
    assert!(
        events[abort + 1..].iter().all(|e| !e.starts_with("part")),
        "a part after the abort: {events:?}"
    );
    for part in cancelled {
        let at = events
            .iter()
            .position(|e| *e == format!("part {part} cancelled"))
            .unwrap_or_else(|| panic!("part {part} not cancelled: {events:?}"));
        assert!(at < abort, "{events:?}");
    }
    assert!(!events.iter().any(|e| e == "complete"), "{events:?}");
}

#[tokio::test]
async fn a_failed_buffered_part_cancels_the_others_before_the_abort() {
    let m = MemoryArchiver::new();
    // No file_size and no Content-Length: buffered parts.
    let mut media = ScriptedMedia::honest(body(20 * MIB));
    media.file_size = None;
    media.content_length = None;
    m.graph.add("m-buffered", media);
    m.store.fault(1, PartFault::Hang);
    m.store.fault(2, PartFault::Fail);
    let job = m.job("m-buffered");
    let result = m.archiver.archive(&job, None).await;
    assert!(
        matches!(result, Err(RetryLater { cut_off: false, .. })),
        "{result:?}"
    );
    assert_parts_end_before_the_abort(&m.store.events(), &[1]);
}

#[tokio::test]
async fn a_failed_streamed_part_cancels_the_others_before_the_abort() {
    let m = MemoryArchiver::new();
    m.graph
        .add("m-streamed", ScriptedMedia::honest(body(20 * MIB)));
    m.store.fault(1, PartFault::Hang);
    m.store.fault(2, PartFault::Fail);
    let job = m.job("m-streamed");
    let result = m.archiver.archive(&job, None).await;
    assert!(
        matches!(result, Err(RetryLater { cut_off: false, .. })),
        "{result:?}"
    );
    assert_parts_end_before_the_abort(&m.store.events(), &[1]);
}

#[tokio::test]
async fn a_job_cut_off_at_its_deadline_stops_its_parts_and_aborts_its_upload() {
    let m = MemoryArchiver::new();
    let mut media = ScriptedMedia::honest(body(20 * MIB));
    // Part 1 goes through; part 2 waits for bytes that never come.
    media.stall_after = Some(12 * MIB);
    m.graph.add("m-stalled", media);
    let job = m.job("m-stalled");
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    let result = m.archiver.archive(&job, Some(deadline)).await;
    assert!(
        matches!(result, Err(RetryLater { cut_off: true, .. })),
        "{result:?}"
    );
    let events = m.store.events();
    assert!(events.contains(&"part 1 done".to_owned()), "{events:?}");
    assert_parts_end_before_the_abort(&events, &[2]);
    let record = m.records.get(&job.record).expect("record");
    assert_eq!(record.status, MediaStatus::Pending);
}

#[tokio::test]
async fn the_cap_holds_without_file_size_whatever_the_content_length() {
    let m = MemoryArchiver::new();
    let mut media = ScriptedMedia::honest(body(1000));
    media.file_size = None;
    media.content_length = Some(MAX_MEDIA_BYTES + 1);
    m.graph.add("m-huge", media);
    let job = m.job("m-huge");
    let outcome = m.archiver.archive(&job, None).await.expect("done");
    assert!(
        matches!(&outcome, ArchiveOutcome::Failed { reason } if reason.contains("100 MiB")),
        "{outcome:?}"
    );
    assert!(
        m.store.events().is_empty(),
        "nothing uploaded: {:?}",
        m.store.events()
    );
}

#[tokio::test]
async fn a_small_file_without_a_declared_digest_is_archived_unverified() {
    let m = MemoryArchiver::new();
    let data = body(5000);
    let mut media = ScriptedMedia::honest(data.clone());
    media.sha256 = None;
    m.graph.add("m-small", media);
    let job = m.job("m-small");
    let outcome = m.archiver.archive(&job, None).await.expect("done");
    assert!(
        matches!(outcome, ArchiveOutcome::Archived { .. }),
        "{outcome:?}"
    );
    let record = m.records.get(&job.record).expect("record");
    let archived = record.archived.expect("archived");
    assert!(!archived.verified);
    assert_eq!(archived.sha256_hex, crate::records::body_sha256_hex(&data));
    assert!(record
        .shard
        .is_some_and(|s| s.starts_with(UNVERIFIED_SHARD_PREFIX)));
    // S3 checked the bytes against this digest: the metadata is true.
    let meta = m.store.metadata.lock().expect("lock")[0].clone();
    assert_eq!(meta.sha256_hex, archived.sha256_hex);
    assert_eq!(m.metrics.get("MediaUnverified"), 1);
}

#[tokio::test]
async fn a_multipart_file_without_a_declared_digest_is_archived_unverified_without_sha256_metadata()
{
    let m = MemoryArchiver::new();
    let data = body(9 * MIB);
    let mut media = ScriptedMedia::honest(data.clone());
    // One that does not decode counts as none.
    media.sha256 = Some("not-a-digest".to_owned());
    m.graph.add("m-multi", media);
    let job = m.job("m-multi");
    let outcome = m.archiver.archive(&job, None).await.expect("done");
    assert!(
        matches!(outcome, ArchiveOutcome::Archived { .. }),
        "{outcome:?}"
    );
    let archived = m
        .records
        .get(&job.record)
        .and_then(|r| r.archived)
        .expect("archived");
    assert!(!archived.verified);
    assert_eq!(archived.sha256_hex, crate::records::body_sha256_hex(&data));
    let meta = m.store.metadata.lock().expect("lock")[0].clone();
    assert_eq!(
        meta.sha256_hex, "",
        "no sha256 metadata that was not known at creation"
    );
    assert!(m.store.events().contains(&"complete".to_owned()));
    assert_eq!(m.metrics.get("MediaUnverified"), 1);
}

#[tokio::test]
async fn an_undecodable_info_digest_falls_back_to_the_webhooks() {
    let m = MemoryArchiver::new();
    let data = body(3000);
    let mut media = ScriptedMedia::honest(data.clone());
    media.sha256 = Some("zz".to_owned());
    m.graph.add("m-fallback", media);
    let mut job = m.job("m-fallback");
    job.sha256 = Some(crate::records::body_sha256_hex(&data));
    let outcome = m.archiver.archive(&job, None).await.expect("done");
    assert!(
        matches!(outcome, ArchiveOutcome::Archived { .. }),
        "{outcome:?}"
    );
    let archived = m
        .records
        .get(&job.record)
        .and_then(|r| r.archived)
        .expect("archived");
    assert!(archived.verified);
    assert_eq!(m.metrics.get("MediaUnverified"), 0);
}
