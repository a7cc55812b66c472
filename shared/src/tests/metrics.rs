//! Unit tests of `metrics` (kept beside the module, with access to its private items).
use super::*;

#[test]
fn document_names_every_metric_and_its_value() {
    let mut counts = BTreeMap::new();
    counts.insert("WebhookAccepted", 1);
    counts.insert("RecordsCreated", 3);
    let doc: serde_json::Value =
        serde_json::from_str(&EmfMetrics::document("webhook", &counts, 5).unwrap()).unwrap();
    assert_eq!(doc["RecordsCreated"], 3);
    assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "wavault");
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(EmfMetrics::document("webhook", &BTreeMap::new(), 5).is_none());
}
