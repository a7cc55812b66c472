//! Unit tests of `invocation`: each trigger's payload is read as its own variant.
use super::*;

fn parse(event: Value) -> Invocation {
    serde_json::from_value(event).unwrap()
}

#[test]
fn stream_batches_are_read_as_stream_events() {
    let event = json!({"Records": [{
        "eventID": "e1", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_000_000,
            "Keys": {"pk": {"S": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}, "sk": {"S": "message"}},
            "OldImage": {"pk": {"S": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}, "sk": {"S": "message"}, "media_bytes": {"N": "5"}},
            "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "OLD_IMAGE"
        },
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026"
    }]});
    match parse(event) {
        Invocation::Stream(batch) => {
            let record = &batch.records[0];
            assert!(stream::is_ttl_removal(record));
            assert_eq!(record.change.sequence_number.as_deref(), Some("111"));
            assert_eq!(
                stream::expired_item(record).map(|item| item.media_bytes),
                Some(5)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn records_that_are_not_a_batch_are_refused_not_swept() {
    assert!(matches!(
        parse(json!({"Records": [{"eventName": "REMOVE"}]})),
        Invocation::UnreadableBatch { .. }
    ));
}

#[test]
fn the_schedule_sweeps() {
    assert!(matches!(
        parse(json!({"action": "sweep"})),
        Invocation::Action {
            action: Action::Sweep
        }
    ));
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-22T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/retention-sweep"], "detail": {}
    });
    assert!(matches!(parse(scheduled), Invocation::Scheduled(_)));
}

#[test]
fn anything_else_is_other_and_sweeps_as_before() {
    for odd in [
        json!({}),
        json!({"action": "purge"}),
        json!([1]),
        json!(null),
    ] {
        assert!(matches!(parse(odd.clone()), Invocation::Other(_)), "{odd}");
    }
}
