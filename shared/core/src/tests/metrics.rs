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

/// The namespace is the stack's (`METRICS_NAMESPACE`): two stacks never add into one metric.
#[test]
fn the_namespace_is_configurable_per_stack() {
    let mut counts = BTreeMap::new();
    counts.insert("DeliveryFailed", 1);
    let doc = |namespace: &str| -> serde_json::Value {
        serde_json::from_str(
            &EmfMetrics::document_in(namespace, "webhook", &counts, &BTreeMap::new(), 5).unwrap(),
        )
        .unwrap()
    };
    let a = doc("wavault/stack-a");
    assert_eq!(
        a["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "wavault/stack-a"
    );
    assert_eq!(
        a["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Function"]])
    );
    assert_eq!(a["Function"], "webhook");
    assert_ne!(
        a["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        doc("wavault/stack-b")["_aws"]["CloudWatchMetrics"][0]["Namespace"]
    );
    let emf = EmfMetrics::new("webhook").with_namespace("wavault/stack-a");
    assert_eq!(emf.namespace, "wavault/stack-a");
    assert_eq!(EmfMetrics::new("webhook").namespace, DEFAULT_NAMESPACE);
}
