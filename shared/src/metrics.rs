//! CloudWatch Embedded Metric Format: metrics as one structured log line per invocation, with no
//! API call on the hot path. Dimensions are fixed (the function name); never user data.

use crate::ports::Metrics;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The namespace every wavault metric is published under.
pub const NAMESPACE: &str = "wavault";

/// Accumulates counts and prints them as an EMF document on `flush`.
pub struct EmfMetrics {
    function: String,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl EmfMetrics {
    pub fn new(function: impl Into<String>) -> Self {
        Self {
            function: function.into(),
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// The EMF document for the given counts (empty counts give `None`).
    pub fn document(
        function: &str,
        counts: &BTreeMap<&'static str, u64>,
        timestamp_ms: u128,
    ) -> Option<String> {
        if counts.is_empty() {
            return None;
        }
        let metrics: Vec<_> = counts
            .keys()
            .map(|name| serde_json::json!({"Name": name, "Unit": "Count"}))
            .collect();
        let mut doc = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms as u64,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Function"]],
                    "Metrics": metrics,
                }]
            },
            "Function": function,
        });
        if let Some(object) = doc.as_object_mut() {
            for (name, value) in counts {
                object.insert((*name).to_owned(), serde_json::json!(value));
            }
        }
        Some(doc.to_string())
    }
}

impl Metrics for EmfMetrics {
    fn count(&self, name: &'static str, value: u64) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(name).or_insert(0) += value;
        }
    }

    fn flush(&self) {
        let counts = match self.counts.lock() {
            Ok(mut counts) => std::mem::take(&mut *counts),
            Err(_) => return,
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        if let Some(line) = Self::document(&self.function, &counts, now) {
            // EMF must be a line of its own on stdout for CloudWatch to extract it.
            println!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
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
}
