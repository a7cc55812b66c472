//! Unit tests of `invocation`: each trigger's payload is read as its own variant.
use super::*;

fn parse(event: Value) -> Invocation {
    serde_json::from_value(event).unwrap()
}

#[test]
fn sqs_batches_are_jobs() {
    let event = json!({"Records": [{
        "messageId": "m1", "receiptHandle": "rh", "body": "{}",
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:media", "awsRegion": "us-east-1"
    }]});
    match parse(event) {
        Invocation::Jobs(batch) => {
            assert_eq!(batch.records.len(), 1);
            assert_eq!(batch.records[0].message_id.as_deref(), Some("m1"));
            assert_eq!(batch.records[0].attributes["ApproximateReceiveCount"], "2");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(json!({"Records": []})),
        Invocation::Jobs(batch) if batch.records.is_empty()
    ));
}

#[test]
fn records_that_are_not_a_batch_are_refused_not_swept() {
    assert!(matches!(
        parse(json!({"Records": "nope"})),
        Invocation::UnreadableBatch { .. }
    ));
}

#[test]
fn actions_are_the_sweep_and_the_redrive() {
    assert!(matches!(
        parse(json!({"action": "sweep"})),
        Invocation::Action {
            action: Action::Sweep
        }
    ));
    assert!(matches!(
        parse(json!({"action": "redrive-dead-lettered"})),
        Invocation::Action {
            action: Action::RedriveDeadLettered
        }
    ));
}

#[test]
fn a_replay_is_read_with_its_fields_and_an_unreadable_one_is_not_something_else() {
    match parse(
        json!({"action": "replay", "unparsed": true, "start_after": "journal/unparsed/a.json"}),
    ) {
        Invocation::Replay(request) => {
            assert!(request.unparsed);
            assert_eq!(
                request.start_after.as_deref(),
                Some("journal/unparsed/a.json")
            );
        }
        other => panic!("{other:?}"),
    }
    // A typo in a field is a replay request that fails the invocation, never a sweep or a replay
    // of everything.
    assert!(matches!(
        parse(json!({"action": "replay", "sinse": 1796000000})),
        Invocation::Action {
            action: Action::Replay
        }
    ));
}

#[test]
fn a_schedule_without_input_is_a_scheduled_event() {
    let event = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-22T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/media-sweep"], "detail": {}
    });
    match parse(event) {
        Invocation::Scheduled(event) => assert_eq!(event.detail_type, "Scheduled Event"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn anything_else_is_other_and_sweeps_as_before() {
    for odd in [
        json!({}),
        json!({"action": "redrive"}),
        json!({"hello": "world"}),
        json!([1]),
        json!(null),
    ] {
        assert!(matches!(parse(odd.clone()), Invocation::Other(_)), "{odd}");
    }
}
