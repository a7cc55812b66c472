use super::*;

/// A stream record as Lambda delivers it: `event` with the fields every record carries filled in.
fn record(event: serde_json::Value) -> EventRecord {
    let mut full = serde_json::json!({
        "eventID": "e1", "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026",
        "dynamodb": {"ApproximateCreationDateTime": 1_795_000_000, "SizeBytes": 100, "StreamViewType": "OLD_IMAGE"}
    });
    for (key, value) in event.as_object().unwrap() {
        match (key.as_str(), value) {
            ("dynamodb", serde_json::Value::Object(change)) => {
                for (k, v) in change {
                    full["dynamodb"][k] = v.clone();
                }
            }
            _ => full[key] = value.clone(),
        }
    }
    serde_json::from_value(full).unwrap()
}

#[test]
fn only_removals_by_the_ttl_service_count() {
    let ttl = record(serde_json::json!({
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {"SequenceNumber": "1", "OldImage": {
            "pk": {"S": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}, "sk": {"S": "message"}, "kind": {"S": "message"},
            "media_key": {"S": "media/1/2026/11/22/m.jpg"}, "media_bytes": {"N": "1234"},
            "journal_key": {"S": "journal/abc.json"}
        }}
    }));
    assert!(is_ttl_removal(&ttl));
    let item = expired_item(&ttl).unwrap();
    assert_eq!(item.key.pk, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    assert_eq!(item.media_key.as_deref(), Some("media/1/2026/11/22/m.jpg"));
    assert_eq!(item.media_bytes, 1234);
    assert_eq!(item.journal_key.as_deref(), Some("journal/abc.json"));

    let by_a_person = record(serde_json::json!({
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "someone.example.com"},
        "dynamodb": {"SequenceNumber": "2"}
    }));
    assert!(!is_ttl_removal(&by_a_person));
    let no_identity = record(serde_json::json!({"eventName": "REMOVE", "dynamodb": {}}));
    assert!(!is_ttl_removal(&no_identity));
    let insert = record(serde_json::json!({
        "eventName": "INSERT",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    }));
    assert!(!is_ttl_removal(&insert));
}

#[test]
fn an_image_without_its_key_is_not_an_item() {
    let broken = record(serde_json::json!({
        "eventName": "REMOVE",
        "dynamodb": {"OldImage": {"sk": {"S": "message"}}}
    }));
    assert!(expired_item(&broken).is_none());
}

#[test]
fn images_with_every_attribute_type_are_read_for_their_strings_and_numbers() {
    // Records carry more than the cleanup reads (numbers, booleans, maps, lists, binary): the
    // image parses, and only S and N values are read.
    let item = record(serde_json::json!({
        "eventName": "REMOVE",
        "dynamodb": {"OldImage": {
            "pk": {"S": "1e2d3c4b5a69788796a5b4c3d2e1f00f"}, "sk": {"S": "status#read"}, "expires_at": {"N": "1795000000"},
            "media_bytes": {"S": "77"}, "flag": {"BOOL": true}, "none": {"NULL": true},
            "meta": {"M": {"a": {"S": "b"}}}, "list": {"L": [{"N": "1"}]}, "raw": {"B": "AAEC"},
            "journal_key": {"BOOL": false}
        }}
    }));
    let item = expired_item(&item).unwrap();
    assert_eq!(item.key.sk, "status#read");
    assert_eq!(item.kind, None, "no kind");
    assert_eq!(item.media_bytes, 77);
    assert_eq!(item.media_key, None);
    assert_eq!(item.journal_key, None, "not a string: absent");
}

#[test]
fn batch_responses_name_the_sequence_number_to_retry_from() {
    let mut response = DynamoDbEventResponse::default();
    let mut item = DynamoDbBatchItemFailure::default();
    item.item_identifier = Some("42".to_owned());
    response.batch_item_failures.push(item);
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[{"itemIdentifier":"42"}]}"#
    );
}

#[test]
fn a_ttl_removal_that_does_not_read_is_where_the_batch_is_retried_from() {
    let removal = |sequence: &str, image: serde_json::Value| {
        serde_json::json!({
            "eventID": format!("e{sequence}"), "eventName": "REMOVE", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026",
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            "dynamodb": {"SequenceNumber": sequence, "SizeBytes": 10, "StreamViewType": "OLD_IMAGE",
                         "OldImage": image}
        })
    };
    let good = |pk: &str| serde_json::json!({"pk": {"S": pk}, "sk": {"S": "message"}, "journal_key": {"S": "journal/j.json"}});
    let mut by_a_person = removal("2", good("p"));
    by_a_person["userIdentity"]["principalId"] = "someone.example.com".into();
    let batch: Event = serde_json::from_value(serde_json::json!({"Records": [
        removal("1", good("a")),
        by_a_person,
        removal("3", serde_json::json!({"sk": {"S": "message"}})),
        removal("4", good("b")),
    ]}))
    .unwrap();
    let removals = ttl_removals(&batch);
    assert_eq!(removals.items.len(), 1, "up to the unreadable one");
    assert_eq!(removals.items[0].key.pk, "a");
    assert_eq!(removals.sequence_numbers, ["1"]);
    assert_eq!(removals.skipped, 1);
    assert_eq!(removals.unreadable.as_deref(), Some("3"));
}
