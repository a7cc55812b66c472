//! Unit tests of `sqs` (kept beside the module, with access to its private items).
use super::*;

#[test]
fn response_shape() {
    let mut response = SqsBatchResponse::default();
    response.add_failure("m1");
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[{"itemIdentifier":"m1"}]}"#
    );
}

/// The budget is what its doc says: Graph's media-info timeout plus one AWS operation timeout,
/// and it leaves room for several jobs in the fetcher's 300 s.
#[test]
fn the_job_budget_is_built_from_the_timeouts_in_use() {
    assert_eq!(JOB_BUDGET, Duration::from_secs(45));
    let usable =
        Duration::from_secs(wavault_core::media::FETCHER_TIMEOUT_SECONDS as u64) - DEADLINE_MARGIN;
    assert!(usable >= 5 * JOB_BUDGET);
}

/// What the handler asked SQS to do with each receipt handle.
#[derive(Default)]
struct RecordedPostpone(std::sync::Mutex<Vec<(String, i32)>>);

#[async_trait::async_trait]
impl Postpone for RecordedPostpone {
    async fn postpone(&self, receipt_handle: &str, seconds: i32) {
        self.0
            .lock()
            .expect("lock")
            .push((receipt_handle.to_owned(), seconds));
    }
}

fn batch(jobs: &[&MediaJob]) -> SqsEvent {
    let records: Vec<serde_json::Value> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            serde_json::json!({
                "messageId": format!("m{i}"),
                "receiptHandle": format!("h{i}"),
                "body": serde_json::to_string(job).expect("job"),
                "attributes": {"ApproximateReceiveCount": "1"},
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("event")
}

/// A job that outlasts the deadline is cut off cleanly (its parts ended, its upload aborted) and
/// backs off; the jobs after it, with no time left for their budget, are not started and are
/// handed back at once, visible again immediately, with no write to their records.
#[tokio::test]
async fn jobs_that_cannot_fit_are_not_started_and_a_job_at_the_deadline_is_cut_off_cleanly() {
    use wavault_core::testkit::media::{MemoryArchiver, ScriptedMedia};
    let m = MemoryArchiver::new();
    let mut stalled = ScriptedMedia::honest(vec![7u8; 20 * 1024 * 1024]);
    stalled.stall_after = Some(12 * 1024 * 1024);
    m.graph.add("m-stalled", stalled);
    m.graph.add("m-b", ScriptedMedia::honest(vec![1u8; 1000]));
    m.graph.add("m-c", ScriptedMedia::honest(vec![2u8; 1000]));
    let (a, b, c) = (m.job("m-stalled"), m.job("m-b"), m.job("m-c"));
    let postpone = RecordedPostpone::default();
    let time = BatchTime {
        deadline: Some(tokio::time::Instant::now() + Duration::from_millis(400)),
        job_budget: Duration::from_millis(300),
    };
    let response = handle(&m.archiver, &postpone, batch(&[&a, &b, &c]), time).await;

    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, ["m0", "m1", "m2"]);
    assert_eq!(
        *postpone.0.lock().expect("lock"),
        [
            ("h0".to_owned(), 30),
            ("h1".to_owned(), 0),
            ("h2".to_owned(), 0)
        ]
    );
    let expected: Vec<String> = m
        .records
        .expected_attempts
        .lock()
        .expect("lock")
        .iter()
        .map(|(record, _)| record.clone())
        .collect();
    assert_eq!(
        expected,
        [a.record.as_str()],
        "one write, for the retried job only"
    );
    let events = m.store.events();
    let abort = events.iter().position(|e| e == "abort").expect("aborted");
    assert!(
        events[..abort].contains(&"part 2 cancelled".to_owned()),
        "{events:?}"
    );
    assert_eq!(
        abort,
        events.len() - 1,
        "nothing after the abort: {events:?}"
    );
    assert!(!events.contains(&"put".to_owned()), "b and c never started");
    assert_eq!(m.metrics.get("MediaNotStarted"), 2);
    assert_eq!(m.metrics.get("MediaCutOff"), 1);
}
