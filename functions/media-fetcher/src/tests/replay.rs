//! Unit tests of `replay`: what a request reads as.
use super::*;

#[test]
fn a_request_reads_as_the_cli_selection_and_refuses_unknown_fields() {
    let range: ReplayRequest = serde_json::from_value(serde_json::json!({
        "action": "replay", "since": 1796000000, "unparsed": true, "start_after": "journal/unparsed/ab.json"
    }))
    .unwrap();
    assert_eq!(
        range.selection(),
        ReplaySelection::Range {
            since: Some(1_796_000_000),
            until: None,
            unparsed_only: true
        }
    );
    assert_eq!(
        range.start_after.as_deref(),
        Some("journal/unparsed/ab.json")
    );
    let keys: ReplayRequest = serde_json::from_value(serde_json::json!({
        "action": "replay", "keys": ["journal/ab.json"]
    }))
    .unwrap();
    assert_eq!(
        keys.selection(),
        ReplaySelection::Keys(vec!["journal/ab.json".into()])
    );
    // A typo must not replay everything, and another action is not a replay.
    for other in [
        serde_json::json!({"action": "replay", "sinse": 1796000000}),
        serde_json::json!({"action": "sweep"}),
        serde_json::json!({"action": "redrive-dead-lettered"}),
    ] {
        assert!(serde_json::from_value::<ReplayRequest>(other).is_err());
    }
}
