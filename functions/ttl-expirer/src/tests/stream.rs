use super::*;

fn record(event: serde_json::Value) -> StreamRecord {
    serde_json::from_value(event).unwrap()
}

#[test]
fn only_removals_by_the_ttl_service_count() {
    let ttl = record(serde_json::json!({
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {"SequenceNumber": "1", "OldImage": {
            "wamid": {"S": "wamid.A"}, "sk": {"S": "message"}, "kind": {"S": "message"},
            "media_key": {"S": "media/1/2026/11/22/m.jpg"}, "media_bytes": {"N": "1234"},
            "journal_key": {"S": "journal/abc.json"}
        }}
    }));
    assert!(ttl.is_ttl_removal());
    let item = ttl.expired_item().unwrap();
    assert_eq!(item.key.wamid, "wamid.A");
    assert_eq!(item.media_key.as_deref(), Some("media/1/2026/11/22/m.jpg"));
    assert_eq!(item.media_bytes, 1234);
    assert_eq!(item.journal_key.as_deref(), Some("journal/abc.json"));

    let by_a_person = record(serde_json::json!({
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "someone.example.com"},
        "dynamodb": {"SequenceNumber": "2"}
    }));
    assert!(!by_a_person.is_ttl_removal());
    let no_identity = record(serde_json::json!({"eventName": "REMOVE", "dynamodb": {}}));
    assert!(!no_identity.is_ttl_removal());
    let insert = record(serde_json::json!({
        "eventName": "INSERT",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    }));
    assert!(!insert.is_ttl_removal());
}

#[test]
fn an_image_without_its_key_is_not_an_item() {
    let broken = record(serde_json::json!({
        "eventName": "REMOVE",
        "dynamodb": {"OldImage": {"sk": {"S": "message"}}}
    }));
    assert!(broken.expired_item().is_none());
}
