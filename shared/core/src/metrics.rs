//! CloudWatch Embedded Metric Format: metrics as one structured log line per invocation, with no
//! API call on the hot path. Dimensions are fixed (the function name); never user data.
//!
//! The namespace is per stack (`METRICS_NAMESPACE`, `wavault/<stack name>` in the template): the
//! dimension `Function` is the same in every deployment, so two stacks in one account and region
//! would otherwise add into the same metrics and fire each other's alarms.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The namespace when `METRICS_NAMESPACE` is not set (local tools and tests; a deployed stack
/// always sets its own).
pub const DEFAULT_NAMESPACE: &str = "wavault";

/// Accumulates counts and prints them as an EMF document on `flush`.
pub struct EmfMetrics {
    namespace: String,
    function: String,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    /// Latest value of each gauge (e.g. `TokenDaysToExpiry`), written with the counts.
    gauges: Mutex<BTreeMap<&'static str, f64>>,
}

impl EmfMetrics {
    pub fn new(function: impl Into<String>) -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            function: function.into(),
            counts: Mutex::new(BTreeMap::new()),
            gauges: Mutex::new(BTreeMap::new()),
        }
    }

    /// Publishes under `namespace` instead of [`DEFAULT_NAMESPACE`].
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The EMF document for the given counts (empty counts give `None`).
    pub fn document(
        function: &str,
        counts: &BTreeMap<&'static str, u64>,
        timestamp_ms: u128,
    ) -> Option<String> {
        Self::document_with_gauges(function, counts, &BTreeMap::new(), timestamp_ms)
    }

    /// The EMF document for counts (unit `Count`) and gauges (unit `None`); `None` when both are
    /// empty.
    pub fn document_with_gauges(
        function: &str,
        counts: &BTreeMap<&'static str, u64>,
        gauges: &BTreeMap<&'static str, f64>,
        timestamp_ms: u128,
    ) -> Option<String> {
        Self::document_in(DEFAULT_NAMESPACE, function, counts, gauges, timestamp_ms)
    }

    /// [`document_with_gauges`](Self::document_with_gauges) under `namespace`.
    pub fn document_in(
        namespace: &str,
        function: &str,
        counts: &BTreeMap<&'static str, u64>,
        gauges: &BTreeMap<&'static str, f64>,
        timestamp_ms: u128,
    ) -> Option<String> {
        if counts.is_empty() && gauges.is_empty() {
            return None;
        }
        let metrics: Vec<_> = counts
            .keys()
            .map(|name| serde_json::json!({"Name": name, "Unit": "Count"}))
            .chain(
                gauges
                    .iter()
                    .filter(|(name, value)| !counts.contains_key(*name) && value.is_finite())
                    .map(|(name, _)| serde_json::json!({"Name": name, "Unit": "None"})),
            )
            .collect();
        let mut doc = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms as u64,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
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
            for (name, value) in gauges {
                if !counts.contains_key(name) && value.is_finite() {
                    object.insert((*name).to_owned(), serde_json::json!(value));
                }
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

    fn gauge(&self, name: &'static str, value: f64) {
        if let Ok(mut gauges) = self.gauges.lock() {
            gauges.insert(name, value);
        }
    }

    fn flush(&self) {
        let counts = match self.counts.lock() {
            Ok(mut counts) => std::mem::take(&mut *counts),
            Err(_) => return,
        };
        let gauges = match self.gauges.lock() {
            Ok(mut gauges) => std::mem::take(&mut *gauges),
            Err(_) => BTreeMap::new(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        if let Some(line) =
            Self::document_in(&self.namespace, &self.function, &counts, &gauges, now)
        {
            // EMF must be a line of its own on stdout for CloudWatch to extract it.
            println!("{line}");
        }
    }
}

/// Metrics sink (CloudWatch EMF in Lambda). Names only; dimensions never carry user data.
pub trait Metrics: Send + Sync {
    fn count(&self, name: &'static str, value: u64);
    /// Records the latest value of a gauge (e.g. `TokenDaysToExpiry`); sinks without gauges
    /// ignore it.
    fn gauge(&self, _name: &'static str, _value: f64) {}
    /// Writes what was counted (one EMF line per invocation).
    fn flush(&self) {}
}

#[cfg(test)]
#[path = "tests/metrics.rs"]
mod tests;
