//! Unit tests of `sqs` (kept beside the module, with access to its private items).
use super::*;

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(backoff_seconds(1), 30);
    assert_eq!(backoff_seconds(2), 60);
    assert_eq!(backoff_seconds(3), 120);
    assert_eq!(backoff_seconds(5), 480);
    assert_eq!(backoff_seconds(9), 900);
}

#[test]
fn response_shape() {
    let mut response = SqsBatchResponse::default();
    response.add_failure("m1");
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[{"itemIdentifier":"m1"}]}"#
    );
}
