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
