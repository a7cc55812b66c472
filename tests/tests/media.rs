//! Media archiving end to end: webhook -> SQS job -> the real media-fetcher binary (fed SQS events
//! as Lambda's event source mapping does) -> the fake Graph API -> S3 in moto, verified.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use wavault_tests::fake_graph::{MediaBehaviour, MediaBody};
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{n, s, ACCESS_TOKEN};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type Item = HashMap<String, AttributeValue>;

async fn stack(suffix: &str) -> Result<MediaStack, Box<dyn std::error::Error + Send + Sync>> {
    let moto = MotoServer::shared()?;
    let stack = MediaStack::start(&moto.endpoint(), suffix).await?;
    stack.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    Ok(stack)
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn record(
    m: &MediaStack,
    wamid: &str,
) -> Result<Item, Box<dyn std::error::Error + Send + Sync>> {
    Ok(m.record(wamid).await?.ok_or("record missing")?)
}

/// Multipart uploads left open in the bucket (each one an abort that did not happen).
async fn open_uploads(m: &MediaStack) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let uploads = m
        .webhook
        .s3
        .list_multipart_uploads()
        .bucket(&m.webhook.stack.bucket)
        .send()
        .await?;
    Ok(uploads.uploads().len())
}

/// Asserts the record is archived and the object holds exactly `expected`, verified.
async fn assert_archived(m: &MediaStack, wamid: &str, expected: &[u8]) -> TestResult {
    let item = record(m, wamid).await?;
    assert_eq!(s(&item, "media_status"), Some("archived"), "{item:?}");
    let key = s(&item, "media_key").ok_or("no media_key")?;
    assert!(key.starts_with("media/1234567890/"), "{key}");
    let object = m.webhook.object(key).await?;
    assert_eq!(object.len(), expected.len());
    assert!(object == expected, "archived bytes differ");
    let sha = wavault_core::records::body_sha256_hex(expected);
    assert_eq!(s(&item, "media_sha256"), Some(sha.as_str()));
    assert_eq!(n(&item, "media_bytes"), Some(expected.len() as i64));
    assert!(
        !item.contains_key("pending_shard"),
        "left the pending index"
    );
    let head = m
        .webhook
        .s3
        .head_object()
        .bucket(&m.webhook.stack.bucket)
        .key(key)
        .send()
        .await?;
    let metadata = head.metadata().cloned().unwrap_or_default();
    assert_eq!(
        metadata.get("sha256").map(String::as_str),
        Some(sha.as_str())
    );
    // The record's key names the object, never the wamid or the media id.
    let record_key = m.webhook.stack.message_key(wamid);
    assert_eq!(metadata.get("record"), Some(&record_key));
    let mut names: Vec<&str> = metadata.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["mime-type", "record", "sha256"]);
    let media_id = s(&item, "media_id").ok_or("media_id")?;
    assert!(key.contains(&format!("/{record_key}.")), "{key}");
    assert!(!key.contains(wamid) && !key.contains(media_id), "{key}");
    Ok(())
}

#[tokio::test]
async fn an_image_is_archived_verified_under_a_key_of_ids() -> TestResult {
    let m = stack("md-ok").await?;
    let data = bytes(300_000, 1);
    m.graph
        .add_media("m-ok", data.clone(), "image/jpeg", MediaBehaviour::Ok);
    m.receive_media("wamid.M.OK", "image", "m-ok", "image/jpeg")
        .await?;
    let round = m.fetch_round().await?;
    assert!(round.retried.is_empty());
    assert_archived(&m, "wamid.M.OK", &data).await?;
    // The fetcher's log lines name the record by a hash, never by its wamid (which embeds a phone number).
    let logs = m.fetcher.logs().join("\n");
    assert!(logs.contains("media_archived"), "{logs}");
    let key = s(&record(&m, "wamid.M.OK").await?, "media_key")
        .unwrap_or_default()
        .to_owned();
    for private in ["wamid.M.OK", "m-ok", key.as_str()] {
        assert!(
            !logs.contains(private),
            "{private} reached the fetcher's logs"
        );
    }
    assert!(
        key.ends_with(&format!(
            "/{}.jpg",
            m.webhook.stack.message_key("wamid.M.OK")
        )),
        "{key}"
    );
    assert!(m
        .graph
        .last_user_agent()
        .is_some_and(|ua| ua.starts_with("wavault/")));
    let logs = m.fetcher.logs().join("\n");
    assert!(
        !logs.contains(ACCESS_TOKEN) && !logs.contains("media-download"),
        "no token or URL in logs"
    );
    Ok(())
}

#[tokio::test]
async fn large_and_chunked_files_stream_through_multipart() -> TestResult {
    let m = stack("md-large").await?;
    let big = MediaBody::Generated {
        len: 20 * 1024 * 1024 + 123,
        seed: 7,
    };
    let big_bytes = MediaBody::generated_range(7, 0, 20 * 1024 * 1024 + 123);
    m.graph
        .add_media("m-big", big, "video/mp4", MediaBehaviour::Ok);
    let chunked = bytes(9 * 1024 * 1024, 3);
    m.graph.add_media(
        "m-chunked",
        chunked.clone(),
        "application/pdf",
        MediaBehaviour::Chunked,
    );
    m.receive_media("wamid.M.BIG", "video", "m-big", "video/mp4")
        .await?;
    m.receive_media(
        "wamid.M.CHUNKED",
        "document",
        "m-chunked",
        "application/pdf",
    )
    .await?;
    let round = m.fetch_round().await?;
    assert!(round.retried.is_empty(), "{round:?}");
    assert_archived(&m, "wamid.M.BIG", &big_bytes).await?;
    assert_archived(&m, "wamid.M.CHUNKED", &chunked).await?;
    assert_eq!(open_uploads(&m).await?, 0, "no upload left open");
    Ok(())
}

#[tokio::test]
async fn large_files_that_go_wrong_mid_stream_leave_no_object_and_no_open_upload() -> TestResult {
    // Declared sizes above one part take the streamed multipart path: each failure must surface
    // there as it does for small files, with the upload aborted.
    let m = stack("md-large-bad").await?;
    let mib = 1024 * 1024;
    m.graph.add_media(
        "m-big-over",
        bytes(12 * mib, 11),
        "video/mp4",
        MediaBehaviour::Oversized {
            declared: Some(9 * mib as u64),
        },
    );
    m.graph.add_media(
        "m-big-cut",
        bytes(17 * mib, 12),
        "video/mp4",
        MediaBehaviour::Truncated {
            after: 9 * mib as u64,
        },
    );
    m.graph.add_media(
        "m-big-sha",
        bytes(10 * mib, 13),
        "video/mp4",
        MediaBehaviour::WrongSha256,
    );
    for (wamid, id) in [
        ("wamid.M.BIGOVER", "m-big-over"),
        ("wamid.M.BIGCUT", "m-big-cut"),
        ("wamid.M.BIGSHA", "m-big-sha"),
    ] {
        m.receive_media(wamid, "video", id, "video/mp4").await?;
    }
    let round = m.fetch_round().await?;
    assert_eq!(
        round.retried,
        vec!["m-big-cut"],
        "only the cut download retries"
    );
    let over = record(&m, "wamid.M.BIGOVER").await?;
    assert_eq!(s(&over, "media_status"), Some("failed"));
    assert!(s(&over, "media_error")
        .unwrap_or_default()
        .contains("larger than declared"));
    let sha = record(&m, "wamid.M.BIGSHA").await?;
    assert_eq!(s(&sha, "media_status"), Some("failed"));
    assert!(s(&sha, "media_error")
        .unwrap_or_default()
        .contains("sha256 mismatch"));
    assert_eq!(m.graph.download_calls("m-big-sha"), 2);
    assert_eq!(
        s(&record(&m, "wamid.M.BIGCUT").await?, "media_status"),
        Some("pending")
    );
    assert!(
        m.webhook.keys("media/").await?.is_empty(),
        "nothing incomplete or unverified is visible"
    );
    assert_eq!(open_uploads(&m).await?, 0, "every upload aborted");
    Ok(())
}

#[tokio::test]
async fn an_expired_url_is_fetched_again_once() -> TestResult {
    let m = stack("md-url").await?;
    let data = bytes(50_000, 2);
    m.graph.add_media(
        "m-url",
        data.clone(),
        "image/png",
        MediaBehaviour::UrlExpiredOnce,
    );
    m.receive_media("wamid.M.URL", "image", "m-url", "image/png")
        .await?;
    assert!(m.fetch_round().await?.retried.is_empty());
    assert_archived(&m, "wamid.M.URL", &data).await?;
    assert_eq!(
        m.graph.media_info_calls("m-url"),
        2,
        "a fresh URL for the second try"
    );
    Ok(())
}

#[tokio::test]
async fn an_expired_token_heals_after_the_secret_is_rotated() -> TestResult {
    let m = stack("md-token").await?;
    let data = bytes(10_000, 4);
    m.graph
        .set_valid_tokens(&[ACCESS_TOKEN, "EAAG-rotated-token"]);
    m.graph.add_media(
        "m-token",
        data.clone(),
        "image/jpeg",
        MediaBehaviour::TokenExpired,
    );
    m.receive_media("wamid.M.TOKEN", "image", "m-token", "image/jpeg")
        .await?;
    // The token is refused; a forced refresh reads the same token; the job returns to the queue.
    assert_eq!(m.fetch_round().await?.retried, vec!["m-token".to_owned()]);
    assert_eq!(
        s(&record(&m, "wamid.M.TOKEN").await?, "media_status"),
        Some("pending")
    );
    // The operator (or the rotator) puts a new token; the next attempt refreshes and succeeds.
    m.rotate_token("EAAG-rotated-token").await?;
    assert!(m.fetch_round().await?.retried.is_empty());
    assert_archived(&m, "wamid.M.TOKEN", &data).await?;
    Ok(())
}

#[tokio::test]
async fn transient_failures_are_retried_then_succeed() -> TestResult {
    let m = stack("md-transient").await?;
    let a = bytes(20_000, 5);
    let b = bytes(20_000, 6);
    let c = bytes(40_000, 7);
    m.graph.add_media(
        "m-rate",
        a.clone(),
        "image/jpeg",
        MediaBehaviour::RateLimited { times: 1 },
    );
    m.graph.add_media(
        "m-500",
        b.clone(),
        "image/jpeg",
        MediaBehaviour::ServerError { times: 1 },
    );
    m.graph.add_media(
        "m-cut",
        c.clone(),
        "image/jpeg",
        MediaBehaviour::Truncated { after: 1000 },
    );
    for (wamid, id) in [
        ("wamid.M.RATE", "m-rate"),
        ("wamid.M.500", "m-500"),
        ("wamid.M.CUT", "m-cut"),
    ] {
        m.receive_media(wamid, "image", id, "image/jpeg").await?;
    }
    let mut first = m.fetch_round().await?.retried;
    first.sort();
    assert_eq!(first, vec!["m-500", "m-cut", "m-rate"]);
    for wamid in ["wamid.M.RATE", "wamid.M.500", "wamid.M.CUT"] {
        assert_eq!(
            s(&record(&m, wamid).await?, "media_status"),
            Some("pending")
        );
    }
    // The cut download keeps failing in this fake; switch it to healthy as a network would heal.
    m.graph.set_behaviour("m-cut", MediaBehaviour::Ok)?;
    assert!(m.fetch_round().await?.retried.is_empty());
    assert_archived(&m, "wamid.M.RATE", &a).await?;
    assert_archived(&m, "wamid.M.500", &b).await?;
    assert_archived(&m, "wamid.M.CUT", &c).await?;
    Ok(())
}

#[tokio::test]
async fn permanent_failures_are_recorded_with_their_reason_and_leave_the_queue() -> TestResult {
    let m = stack("md-permanent").await?;
    m.graph.add_media(
        "m-sha",
        bytes(5_000, 8),
        "image/jpeg",
        MediaBehaviour::WrongSha256,
    );
    m.graph.add_media(
        "m-over",
        bytes(2_000_000, 9),
        "image/jpeg",
        MediaBehaviour::Oversized { declared: None },
    );
    m.graph.add_media(
        "m-unknown",
        bytes(10, 1),
        "image/jpeg",
        MediaBehaviour::UnknownId,
    );
    for (wamid, id) in [
        ("wamid.M.SHA", "m-sha"),
        ("wamid.M.OVER", "m-over"),
        ("wamid.M.UNKNOWN", "m-unknown"),
    ] {
        m.receive_media(wamid, "image", id, "image/jpeg").await?;
    }
    let round = m.fetch_round().await?;
    assert!(
        round.retried.is_empty(),
        "permanent failures leave the queue: {round:?}"
    );
    for (wamid, reason) in [
        ("wamid.M.SHA", "sha256 mismatch"),
        ("wamid.M.OVER", "larger than declared"),
        ("wamid.M.UNKNOWN", "100: unknown media id"),
    ] {
        let item = record(&m, wamid).await?;
        assert_eq!(s(&item, "media_status"), Some("failed"), "{wamid}");
        assert!(
            s(&item, "media_error").unwrap_or_default().contains(reason),
            "{wamid}: {item:?}"
        );
        assert!(!item.contains_key("pending_shard"));
    }
    assert_eq!(
        m.graph.download_calls("m-sha"),
        2,
        "a mismatch is downloaded twice before failing"
    );
    assert!(
        m.webhook.keys("media/").await?.is_empty(),
        "nothing unverified is visible"
    );
    assert_eq!(open_uploads(&m).await?, 0, "aborted, not left open");
    Ok(())
}

#[tokio::test]
async fn duplicates_and_reruns_archive_once() -> TestResult {
    let m = stack("md-dup").await?;
    let data = bytes(70_000, 10);
    m.graph
        .add_media("m-dup", data.clone(), "image/jpeg", MediaBehaviour::Ok);
    let body = wavault_core::testkit::samples::messages_body(
        wavault_tests::media_stack::CONTACT,
        vec![wavault_core::testkit::samples::media_message(
            "wamid.M.DUP",
            wavault_tests::media_stack::CONTACT,
            "image",
            "m-dup",
            "image/jpeg",
        )],
    );
    m.webhook.post_signed(&body).await?;
    // A duplicate job (SQS at-least-once).
    let job = m.webhook.drain_jobs().await?.pop().ok_or("no job")?;
    for _ in 0..2 {
        m.webhook
            .sqs
            .send_message()
            .queue_url(&m.webhook.stack.queue_url)
            .message_body(job.to_string())
            .send()
            .await?;
    }
    assert!(m.fetch_round().await?.retried.is_empty());
    assert_archived(&m, "wamid.M.DUP", &data).await?;
    assert_eq!(m.webhook.keys("media/").await?.len(), 1);
    let downloads = m.graph.download_calls("m-dup");
    assert_eq!(downloads, 1, "the second job found the record archived");
    // A rerun for an archived record downloads nothing.
    m.webhook
        .sqs
        .send_message()
        .queue_url(&m.webhook.stack.queue_url)
        .message_body(job.to_string())
        .send()
        .await?;
    assert!(m.fetch_round().await?.retried.is_empty());
    assert_eq!(m.graph.download_calls("m-dup"), downloads);
    Ok(())
}

#[tokio::test]
async fn a_batch_of_ten_with_three_failing_reports_exactly_those() -> TestResult {
    let m = stack("md-batch").await?;
    let mut failing = Vec::new();
    for i in 0..10 {
        let id = format!("m-b{i}");
        let behaviour = if i % 3 == 1 {
            failing.push(id.clone());
            MediaBehaviour::ServerError { times: 5 }
        } else {
            MediaBehaviour::Ok
        };
        m.graph
            .add_media(&id, bytes(1_000 + i, i as u8), "image/jpeg", behaviour);
        m.receive_media(&format!("wamid.M.B{i}"), "image", &id, "image/jpeg")
            .await?;
    }
    let mut round = m.fetch_round().await?;
    assert_eq!(round.media_ids.len(), 10, "one batch of ten");
    round.retried.sort();
    failing.sort();
    assert_eq!(round.retried, failing);
    assert_eq!(m.webhook.keys("media/").await?.len(), 7);
    Ok(())
}

/// Moves a record back in time (received_at, media_deadline): what waiting would do.
async fn age(m: &MediaStack, wamid: &str, received_ago: i64, deadline_in: i64) -> TestResult {
    let now = wavault_core::clock::Clock::now_epoch_seconds(&wavault_core::clock::SystemClock);
    m.webhook
        .dynamodb
        .update_item()
        .table_name(&m.webhook.stack.table)
        .key("pk", AttributeValue::S(m.webhook.stack.message_key(wamid)))
        .key("sk", AttributeValue::S("message".into()))
        .update_expression("SET received_at = :r, media_deadline = :d")
        .expression_attribute_values(":r", AttributeValue::N((now - received_ago).to_string()))
        .expression_attribute_values(":d", AttributeValue::N((now + deadline_in).to_string()))
        .send()
        .await?;
    Ok(())
}

#[tokio::test]
async fn the_sweep_reenqueues_stale_media_records_lost_and_dead_lettered_ones() -> TestResult {
    let m = stack("md-sweep").await?;
    for (wamid, id) in [
        ("wamid.S.LOST", "s-lost"),
        ("wamid.S.STALE", "s-stale"),
        ("wamid.S.FRESH", "s-fresh"),
        ("wamid.S.DLQ", "s-dlq"),
    ] {
        m.receive_media(wamid, "image", id, "image/jpeg").await?;
    }
    let mut jobs = m.webhook.drain_jobs().await?; // the first jobs are "lost"
    age(&m, "wamid.S.LOST", 8 * 86_400, -60).await?;
    age(&m, "wamid.S.STALE", 3_600, 3_600).await?;
    // One job exhausted its retries and sits in the DLQ.
    jobs.retain(|j| j["record"] == m.webhook.stack.message_key("wamid.S.DLQ"));
    m.webhook
        .sqs
        .send_message()
        .queue_url(&m.webhook.stack.dlq_url)
        .message_body(jobs[0].to_string())
        .send()
        .await?;

    let report = match m
        .fetcher
        .invoke(serde_json::json!({"action": "sweep"}))
        .await?
    {
        wavault_tests::lambda_emulator::Invocation::Ok(value) => value,
        other => return Err(format!("sweep failed: {other:?}").into()),
    };
    assert_eq!(report["lost"], 1, "{report}");
    assert_eq!(report["dead_lettered"], 1, "{report}");
    assert_eq!(report["pending"], 2, "stale + fresh: {report}");
    assert_eq!(report["at_risk"], 1, "{report}");
    assert_eq!(report["reenqueued"], 1, "only the stale one: {report}");

    let lost = record(&m, "wamid.S.LOST").await?;
    assert_eq!(
        (s(&lost, "media_status"), s(&lost, "media_error")),
        (Some("failed"), Some("expired-before-archive"))
    );
    let dead = record(&m, "wamid.S.DLQ").await?;
    assert_eq!(
        (s(&dead, "media_status"), s(&dead, "media_error")),
        (Some("failed"), Some("dead-lettered"))
    );
    assert!(
        s(&dead, "pending_shard")
            .unwrap_or_default()
            .starts_with("dlq#"),
        "findable for a redrive"
    );
    let requeued = m.webhook.drain_jobs().await?;
    assert_eq!(requeued.len(), 1);
    assert_eq!(
        requeued[0]["record"],
        m.webhook.stack.message_key("wamid.S.STALE")
    );
    let logs = m.fetcher.logs().join("\n");
    assert!(
        logs.contains("\"MediaLost\":1") && logs.contains("\"MediaAtRisk\":1"),
        "metrics emitted"
    );
    Ok(())
}

#[tokio::test]
async fn a_slow_download_still_streams_through() -> TestResult {
    let m = stack("md-slow").await?;
    let data = bytes(512 * 1024, 11);
    m.graph.add_media(
        "m-slow",
        data.clone(),
        "audio/ogg; codecs=opus",
        MediaBehaviour::Slow {
            delay_ms_per_chunk: 40,
            chunk: 64 * 1024,
        },
    );
    m.receive_media("wamid.M.SLOW", "audio", "m-slow", "audio/ogg; codecs=opus")
        .await?;
    assert!(m.fetch_round().await?.retried.is_empty());
    assert_archived(&m, "wamid.M.SLOW", &data).await?;
    let key = s(&record(&m, "wamid.M.SLOW").await?, "media_key")
        .unwrap_or_default()
        .to_owned();
    assert!(
        key.ends_with(&format!(
            "/{}.ogg",
            m.webhook.stack.message_key("wamid.M.SLOW")
        )),
        "{key}"
    );
    Ok(())
}

/// An erasure (or expiry) that lands while the file downloads: the fetcher deletes what it just wrote, so the
/// archive never outlives its record (with its role's s3:DeleteObject, checked by the IAM gateway).
#[tokio::test]
async fn a_record_erased_during_its_download_leaves_no_object() -> TestResult {
    let m = stack("media-erased").await?;
    m.graph.add_media(
        "m-erased",
        vec![9u8; 20_000],
        "image/jpeg",
        MediaBehaviour::Ok,
    );
    m.receive_media("wamid.ERASED", "image", "m-erased", "image/jpeg")
        .await?;
    let gate = m.graph.hold_next_download("m-erased");
    let round = m.fetch_round();
    let erase = async {
        gate.started().await;
        m.webhook
            .dynamodb
            .delete_item()
            .table_name(&m.webhook.stack.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(
                    m.webhook.stack.message_key("wamid.ERASED"),
                ),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("message".into()),
            )
            .send()
            .await?;
        gate.release();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    let (round, erased) = tokio::join!(round, erase);
    erased?;
    let round = round?;
    assert!(round.retried.is_empty(), "{round:?}");
    assert!(
        m.webhook.keys("media/").await?.is_empty(),
        "the object written for a record that is gone was deleted"
    );
    let calls = m.webhook.stack.gateway()?.calls(&m.webhook.stack.suffix);
    assert!(calls.iter().any(
        |c| c.principal == wavault_tests::iam::Principal::MediaFetcher
            && c.operation == "DeleteObject"
            && c.answer == "forwarded"
    ));
    Ok(())
}

/// Runs the media sweep in the fetcher (as its schedule does) and returns its report.
async fn sweep(
    m: &MediaStack,
) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
    match m
        .fetcher
        .invoke(serde_json::json!({"action": "sweep"}))
        .await?
    {
        wavault_tests::lambda_emulator::Invocation::Ok(value) => Ok(value),
        other => Err(format!("sweep failed: {other:?}").into()),
    }
}

/// Sets the record's expected delivery (`media_next_attempt_at`) `ago` seconds back: what waiting would do.
async fn expect_delivery(m: &MediaStack, wamid: &str, ago: i64) -> TestResult {
    let now = wavault_core::clock::Clock::now_epoch_seconds(&wavault_core::clock::SystemClock);
    m.webhook
        .dynamodb
        .update_item()
        .table_name(&m.webhook.stack.table)
        .key("pk", AttributeValue::S(m.webhook.stack.message_key(wamid)))
        .key("sk", AttributeValue::S("message".into()))
        .update_expression("SET media_next_attempt_at = :at")
        .expression_attribute_values(":at", AttributeValue::N((now - ago).to_string()))
        .send()
        .await?;
    Ok(())
}

/// A job the fetcher put back for an hour (its tenth receive under a Graph rate limit) is invisible on the queue
/// and its record says when it returns: sweep after sweep enqueues no copy, though its media is two hours old.
#[tokio::test]
async fn a_job_backing_off_for_an_hour_is_not_enqueued_again_by_repeated_sweeps() -> TestResult {
    let m = stack("md-backoff").await?;
    m.graph.add_media(
        "m-backoff",
        bytes(2_000, 3),
        "image/jpeg",
        MediaBehaviour::RateLimited { times: 1_000 },
    );
    m.receive_media("wamid.M.BACKOFF", "image", "m-backoff", "image/jpeg")
        .await?;
    let round = m.fetch_round_backing_off(10).await?;
    assert_eq!(round.retried, vec!["m-backoff".to_owned()]);
    let now = wavault_core::clock::Clock::now_epoch_seconds(&wavault_core::clock::SystemClock);
    let item = record(&m, "wamid.M.BACKOFF").await?;
    let next = n(&item, "media_next_attempt_at").ok_or("no media_next_attempt_at")?;
    assert!(
        (now + 3_500..=now + 3_700).contains(&next),
        "{next} vs {now}"
    );
    age(&m, "wamid.M.BACKOFF", 2 * 3_600, 5 * 86_400).await?;
    for _ in 0..3 {
        let report = sweep(&m).await?;
        assert_eq!(report["pending"], 1, "{report}");
        assert_eq!(report["reenqueued"], 0, "{report}");
        assert_eq!(
            report["waiting"], 0,
            "no visible backlog: the record did it: {report}"
        );
    }
    assert!(m.peek_jobs().await?.is_empty(), "no copy on the queue");
    Ok(())
}

/// A job truly lost (no message anywhere) is enqueued by the first sweep, and then not again while that copy may
/// be on its way: not while it is visible (a backlog), not once it is lost too, until a stale window has passed.
#[tokio::test]
async fn a_lost_job_is_enqueued_again_once_per_stale_window() -> TestResult {
    let m = stack("md-lost-job").await?;
    m.graph.add_media(
        "m-lost-job",
        bytes(2_000, 4),
        "image/jpeg",
        MediaBehaviour::Ok,
    );
    m.receive_media("wamid.M.LOSTJOB", "image", "m-lost-job", "image/jpeg")
        .await?;
    m.webhook.drain_jobs().await?;
    age(&m, "wamid.M.LOSTJOB", 2 * 3_600, 5 * 86_400).await?;

    assert_eq!(sweep(&m).await?["reenqueued"], 1);
    // The copy is on the queue, visible: a backlog, nothing more is enqueued.
    let waiting = sweep(&m).await?;
    assert_eq!(waiting["reenqueued"], 0, "{waiting}");
    assert_eq!(waiting["waiting"], 1, "{waiting}");
    // The copy is lost too; within the stale window of the re-enqueue, still nothing.
    assert_eq!(m.webhook.drain_jobs().await?.len(), 1);
    let claimed = sweep(&m).await?;
    assert_eq!(claimed["reenqueued"], 0, "{claimed}");
    assert_eq!(claimed["waiting"], 0, "{claimed}");
    // A stale window later it is lost again: one more copy.
    expect_delivery(
        &m,
        "wamid.M.LOSTJOB",
        wavault_core::media::STALE_PENDING_SECONDS + 1,
    )
    .await?;
    assert_eq!(sweep(&m).await?["reenqueued"], 1);
    let jobs = m.webhook.drain_jobs().await?;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0]["record"],
        m.webhook.stack.message_key("wamid.M.LOSTJOB")
    );
    Ok(())
}

/// A media message (webhook and media info alike) without a `sha256`: archived all the same, marked unverified on
/// the record, counted, and in the sweep's report; object metadata holds only what is true: the digest S3 checked
/// for a small file, no digest for a multipart one (it was not known when the upload began).
#[tokio::test]
async fn media_without_a_declared_digest_is_archived_unverified_and_counted() -> TestResult {
    let m = stack("md-nodigest").await?;
    let small = bytes(300_000, 5);
    let large = bytes(9 * 1024 * 1024, 6);
    for (id, data, mime) in [
        ("m-nd-small", small.clone(), "image/jpeg"),
        ("m-nd-large", large.clone(), "video/mp4"),
    ] {
        m.graph.add_media(id, data, mime, MediaBehaviour::Ok);
        m.graph.set_info_format(
            id,
            wavault_tests::fake_graph::InfoFormat {
                no_sha256: true,
                ..Default::default()
            },
        )?;
    }
    let contact = wavault_tests::media_stack::CONTACT;
    let mut messages = Vec::new();
    for (wamid, kind, id, mime) in [
        ("wamid.M.NDSMALL", "image", "m-nd-small", "image/jpeg"),
        ("wamid.M.NDLARGE", "video", "m-nd-large", "video/mp4"),
    ] {
        let mut message =
            wavault_core::testkit::samples::media_message(wamid, contact, kind, id, mime);
        if let Some(media) = message[kind].as_object_mut() {
            media.remove("sha256");
        }
        messages.push(message);
    }
    let body = wavault_core::testkit::samples::messages_body(contact, messages);
    assert_eq!(m.webhook.post_signed(&body).await?.status, 200);
    let round = m.fetch_round().await?;
    assert!(round.retried.is_empty(), "{round:?}");

    for (wamid, data, metadata_names) in [
        (
            "wamid.M.NDSMALL",
            &small,
            &["mime-type", "record", "sha256"][..],
        ),
        ("wamid.M.NDLARGE", &large, &["mime-type", "record"][..]),
    ] {
        let item = record(&m, wamid).await?;
        assert_eq!(s(&item, "media_status"), Some("archived"), "{item:?}");
        assert_eq!(
            item.get("media_verified"),
            Some(&AttributeValue::Bool(false))
        );
        let sha = wavault_core::records::body_sha256_hex(data);
        assert_eq!(s(&item, "media_sha256"), Some(sha.as_str()));
        let key = s(&item, "media_key").ok_or("no media_key")?;
        assert!(
            m.webhook.object(key).await? == *data,
            "{wamid}: bytes differ"
        );
        let head = m
            .webhook
            .s3
            .head_object()
            .bucket(&m.webhook.stack.bucket)
            .key(key)
            .send()
            .await?;
        let metadata = head.metadata().cloned().unwrap_or_default();
        let mut names: Vec<&str> = metadata.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, metadata_names, "{wamid}");
        if let Some(written) = metadata.get("sha256") {
            assert_eq!(written, &sha, "true when present");
        }
    }
    assert_eq!(open_uploads(&m).await?, 0);
    let logs = m.fetcher.logs().join("\n");
    assert!(logs.contains("\"MediaUnverified\":2"), "counted");
    let report = sweep(&m).await?;
    assert_eq!(report["unverified"], 2, "{report}");
    assert_eq!(report["pending"], 0, "{report}");
    Ok(())
}

/// No `file_size` in media info, and a Content-Length over 100 MiB: refused before any byte is stored.
#[tokio::test]
async fn the_cap_holds_without_file_size_whatever_the_content_length() -> TestResult {
    let m = stack("md-cap").await?;
    m.graph.add_media(
        "m-cap",
        MediaBody::Generated {
            len: 101 * 1024 * 1024,
            seed: 9,
        },
        "video/mp4",
        MediaBehaviour::Ok,
    );
    m.graph.set_info_format(
        "m-cap",
        wavault_tests::fake_graph::InfoFormat {
            no_file_size: true,
            ..Default::default()
        },
    )?;
    m.receive_media("wamid.M.CAP", "video", "m-cap", "video/mp4")
        .await?;
    let round = m.fetch_round().await?;
    assert!(round.retried.is_empty(), "{round:?}");
    let item = record(&m, "wamid.M.CAP").await?;
    assert_eq!(s(&item, "media_status"), Some("failed"));
    assert!(s(&item, "media_error")
        .unwrap_or_default()
        .contains("100 MiB"));
    assert!(m.webhook.keys("media/").await?.is_empty());
    assert_eq!(open_uploads(&m).await?, 0);
    Ok(())
}
