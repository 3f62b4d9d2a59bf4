//! The MetricStore: the latest value of every external metric, written by the poll loops and
//! read by the metrics API (KEDA's `useCachedMetrics`, for every trigger), with the time each
//! value was taken so readers can tell its age.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::RwLock;

/// One stored reading of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRecord {
    /// The metric name with its original case (`s0-redis-Jobs`).
    pub metric_name: String,
    /// The value to serve (already the fallback value when `fallback` is true); `None` when
    /// the last evaluation failed without fallback.
    pub value: Option<f64>,
    /// Whether the trigger was active.
    pub active: bool,
    /// Whether `value` is a fallback value.
    pub fallback: bool,
    /// Secret-free description of the last failure (the trigger and the error category and
    /// message built by the scalers crate), when it failed.
    pub error: Option<String>,
    /// When the value was read.
    pub timestamp: DateTime<Utc>,
}

/// Metrics of one ScaledObject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectMetrics {
    /// The records (a ScaledObject has a few triggers: a short list is searched, where a
    /// `BTreeMap`'s first node took ~1.1 KB per object; issue 11).
    pub metrics: Vec<MetricRecord>,
    /// `pollingInterval` in seconds, for staleness decisions.
    pub polling_interval_s: u32,
}

/// All stored metrics, by (namespace, ScaledObject name).
#[derive(Debug, Default)]
pub struct MetricStore {
    objects: RwLock<HashMap<(String, String), ObjectMetrics>>,
}

impl ObjectMetrics {
    /// The record of `metric_name`, matched case-insensitively (the HPA lower-cases names).
    pub fn get(&self, metric_name: &str) -> Option<&MetricRecord> {
        self.metrics
            .iter()
            .find(|r| r.metric_name.eq_ignore_ascii_case(metric_name))
    }

    /// Stores `record`, replacing the one of the same name.
    fn put(&mut self, record: MetricRecord) {
        match self
            .metrics
            .iter_mut()
            .find(|r| r.metric_name.eq_ignore_ascii_case(&record.metric_name))
        {
            Some(r) => *r = record,
            None => {
                self.metrics.push(record);
                self.metrics.shrink_to_fit();
            }
        }
    }
}

impl MetricStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores (replaces) one metric's record for a ScaledObject.
    pub fn put(
        &self,
        namespace: &str,
        scaled_object: &str,
        polling_interval_s: u32,
        record: MetricRecord,
    ) {
        let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
        let entry = objects
            .entry((namespace.to_string(), scaled_object.to_string()))
            .or_default();
        entry.polling_interval_s = polling_interval_s;
        entry.put(record);
    }

    /// Keeps only the named metrics of a ScaledObject (after its triggers changed).
    pub fn retain(&self, namespace: &str, scaled_object: &str, metric_names: &[String]) {
        let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
        if let Some(o) = objects.get_mut(&(namespace.to_string(), scaled_object.to_string())) {
            o.metrics.retain(|r| {
                metric_names
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(&r.metric_name))
            });
        }
    }

    /// Drops everything of a ScaledObject (deleted or paused).
    pub fn remove_object(&self, namespace: &str, scaled_object: &str) {
        self.objects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(namespace.to_string(), scaled_object.to_string()));
    }

    /// One metric of one ScaledObject, matched case-insensitively (the HPA lower-cases names).
    pub fn get(
        &self,
        namespace: &str,
        scaled_object: &str,
        metric_name: &str,
    ) -> Option<(MetricRecord, u32)> {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        let o = objects.get(&(namespace.to_string(), scaled_object.to_string()))?;
        o.get(metric_name)
            .map(|r| (r.clone(), o.polling_interval_s))
    }

    /// Every ScaledObject of `namespace` that has `metric_name`, for requests without a
    /// ScaledObject selector. Never looks into other namespaces.
    pub fn find_in_namespace(
        &self,
        namespace: &str,
        metric_name: &str,
    ) -> Vec<(String, MetricRecord)> {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(String, MetricRecord)> = objects
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .filter_map(|((_, so), o)| o.get(metric_name).map(|r| (so.clone(), r.clone())))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// A copy of one ScaledObject's metrics.
    pub fn object(&self, namespace: &str, scaled_object: &str) -> Option<ObjectMetrics> {
        self.objects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(namespace.to_string(), scaled_object.to_string()))
            .cloned()
    }

    /// Number of ScaledObjects with stored metrics.
    pub fn len(&self) -> usize {
        self.objects.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, v: f64) -> MetricRecord {
        MetricRecord {
            metric_name: name.to_string(),
            value: Some(v),
            active: v > 0.0,
            fallback: false,
            error: None,
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn case_insensitive_and_namespace_isolated() {
        let s = MetricStore::new();
        s.put("shop", "web", 30, rec("s0-redis-Jobs", 7.0));
        s.put("school", "web", 15, rec("s0-redis-Jobs", 9.0));
        let (r, pi) = s.get("shop", "web", "s0-redis-jobs").unwrap();
        assert_eq!(
            (r.value, r.metric_name.as_str(), pi),
            (Some(7.0), "s0-redis-Jobs", 30)
        );
        assert_eq!(
            s.get("school", "web", "S0-REDIS-JOBS").unwrap().0.value,
            Some(9.0)
        );
        assert!(s.get("shop", "other", "s0-redis-jobs").is_none());
        let found = s.find_in_namespace("shop", "s0-redis-jobs");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.value, Some(7.0));
        assert!(s.find_in_namespace("nowhere", "s0-redis-jobs").is_empty());
    }

    #[test]
    fn replace_retain_remove() {
        let s = MetricStore::new();
        s.put("ns", "so", 30, rec("s0-a", 1.0));
        s.put("ns", "so", 30, rec("s1-b", 2.0));
        s.put("ns", "so", 30, rec("s0-a", 3.0));
        assert_eq!(s.get("ns", "so", "s0-a").unwrap().0.value, Some(3.0));
        s.retain("ns", "so", &["S1-B".to_string()]);
        assert!(s.get("ns", "so", "s0-a").is_none());
        assert!(s.get("ns", "so", "s1-b").is_some());
        s.remove_object("ns", "so");
        assert!(s.is_empty());
    }
}
