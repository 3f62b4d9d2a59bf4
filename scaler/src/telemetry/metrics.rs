//! The operator's Prometheus metrics (prometheus-client). Label values are names from the
//! manifests (namespace, ScaledObject, trigger, metric) and static categories — never error
//! text — so cardinality stays bounded and nothing secret reaches a label.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// Identifies one trigger's metric (KEDA's label set, minus `type`, which is always
/// `scaledobject` here).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TriggerLabels {
    pub namespace: String,
    pub scaled_object: String,
    /// The trigger's `name`, or its `type` when unnamed.
    pub scaler: String,
    pub trigger_index: String,
    pub metric: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TriggerErrorLabels {
    pub namespace: String,
    pub scaled_object: String,
    pub scaler: String,
    pub metric: String,
    /// A static category from `prescale_scalers::Error::category`.
    pub category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScalerTypeLabels {
    /// The trigger type (`redis`, `prometheus`, ...).
    pub scaler: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum ReconcileResult {
    Ok,
    Error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub result: ReconcileResult,
    /// A static error category ("" on success).
    pub category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    pub condition: &'static str,
    pub status: &'static str,
}

/// One ScaledObject.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScaledObjectLabels {
    pub namespace: String,
    pub scaled_object: String,
}

/// One workload (`Kind/name`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkloadLabels {
    pub namespace: String,
    pub workload: String,
}

/// Every metric the operator exports, registered under the `prescale_` prefix.
#[derive(Clone)]
pub struct OperatorMetrics {
    pub trigger_value: Family<TriggerLabels, Gauge<f64, AtomicU64>>,
    /// The trigger's target (the number the HPA divides by), next to its value.
    pub trigger_target: Family<TriggerLabels, Gauge<f64, AtomicU64>>,
    /// 1 while the value served for the metric is the fallback's.
    pub trigger_fallback: Family<TriggerLabels, Gauge>,
    pub trigger_active: Family<TriggerLabels, Gauge>,
    pub trigger_errors: Family<TriggerErrorLabels, Counter>,
    pub query_latency: Family<ScalerTypeLabels, Histogram>,
    pub poll_lateness: Histogram,
    /// The scale target's `spec.replicas` as the last poll read it.
    pub target_replicas: Family<ScaledObjectLabels, Gauge>,
    /// 1 while this replica holds the Lease (may write), else 0.
    pub leader: Gauge,
    /// Shards this replica holds (`--shards`; with one shard, equal to `leader`).
    pub shards_held: Gauge,
    pub reconciles: Family<ReconcileLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub scaled_objects: Family<ConditionLabels, Gauge>,
    /// Pre-scaling: the HPA bounds in force, the next planned change, the lead in use.
    pub prescale_min_replicas: Family<ScaledObjectLabels, Gauge>,
    pub prescale_max_replicas: Family<ScaledObjectLabels, Gauge>,
    pub prescale_next_change: Family<ScaledObjectLabels, Gauge>,
    pub prescale_lead_time: Family<ScaledObjectLabels, Gauge<f64, AtomicU64>>,
    /// Measured pod start-up per workload (`leadTime: auto`).
    pub pod_startup_p90: Family<WorkloadLabels, Gauge<f64, AtomicU64>>,
    pub pod_startup_samples: Family<WorkloadLabels, Gauge>,
    /// The per-trigger series each ScaledObject has, so its deletion removes them all.
    series: Arc<Mutex<HashMap<(String, String), ObjectSeries>>>,
}

/// The label sets of one ScaledObject's per-trigger series.
#[derive(Default)]
struct ObjectSeries {
    triggers: HashSet<TriggerLabels>,
    errors: HashSet<TriggerErrorLabels>,
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl OperatorMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self {
            trigger_value: Family::default(),
            trigger_target: Family::default(),
            trigger_fallback: Family::default(),
            trigger_active: Family::default(),
            trigger_errors: Family::default(),
            query_latency: Family::new_with_constructor(latency_histogram),
            poll_lateness: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            target_replicas: Family::default(),
            leader: Gauge::default(),
            shards_held: Gauge::default(),
            reconciles: Family::default(),
            reconcile_duration: latency_histogram(),
            scaled_objects: Family::default(),
            prescale_min_replicas: Family::default(),
            prescale_max_replicas: Family::default(),
            prescale_next_change: Family::default(),
            prescale_lead_time: Family::default(),
            pod_startup_p90: Family::default(),
            pod_startup_samples: Family::default(),
            series: Default::default(),
        };
        registry.register(
            "scaler_metrics_value",
            "Last value read per trigger metric",
            m.trigger_value.clone(),
        );
        registry.register(
            "scaler_metrics_target",
            "The target of each trigger metric (the HPA's Value or AverageValue)",
            m.trigger_target.clone(),
        );
        registry.register(
            "scaler_fallback",
            "1 while the value served for the trigger metric is the fallback's",
            m.trigger_fallback.clone(),
        );
        registry.register(
            "scaler_active",
            "1 when the trigger was active at the last poll",
            m.trigger_active.clone(),
        );
        registry.register(
            "scaler_errors",
            "Failed trigger evaluations by error category",
            m.trigger_errors.clone(),
        );
        registry.register(
            "scaler_query_latency_seconds",
            "Duration of one source query, by trigger type",
            m.query_latency.clone(),
        );
        registry.register(
            "poll_loop_lateness_seconds",
            "How late each poll ran against its schedule (CPU starvation shows here)",
            m.poll_lateness.clone(),
        );
        registry.register(
            "scaled_object_replicas",
            "The scale target's spec.replicas as the last poll read it",
            m.target_replicas.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease and writes, else 0",
            m.leader.clone(),
        );
        registry.register(
            "shards_held",
            "Shards whose Lease this replica holds (it reconciles, polls and writes their ScaledObjects)",
            m.shards_held.clone(),
        );
        registry.register(
            "reconciles",
            "ScaledObject reconciles by result",
            m.reconciles.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one ScaledObject reconcile",
            m.reconcile_duration.clone(),
        );
        registry.register(
            "scaled_objects",
            "ScaledObjects by condition type and status",
            m.scaled_objects.clone(),
        );
        registry.register(
            "prescaling_min_replicas",
            "The HPA minReplicas in force: the ScaledObject's minimum raised by pre-scaling floors",
            m.prescale_min_replicas.clone(),
        );
        registry.register(
            "prescaling_max_replicas",
            "The HPA maxReplicas in force: maxReplicaCount lowered by pre-scaling caps",
            m.prescale_max_replicas.clone(),
        );
        registry.register(
            "prescaling_next_change_timestamp_seconds",
            "When the pre-scaling bounds change next (Unix time; 0 when no change is planned)",
            m.prescale_next_change.clone(),
        );
        registry.register(
            "prescaling_lead_time_seconds",
            "The lead time of the rule that sets the floor (or of the first pre-scaling rule)",
            m.prescale_lead_time.clone(),
        );
        registry.register(
            "pod_startup_p90_seconds",
            "p90 of the workload's recent pod start-ups (creation to Ready), for leadTime auto",
            m.pod_startup_p90.clone(),
        );
        registry.register(
            "pod_startup_samples",
            "How many recent pod starts the p90 is taken over",
            m.pod_startup_samples.clone(),
        );
        m
    }
}

impl OperatorMetrics {
    /// Drops the per-ScaledObject pre-scaling series of a deleted ScaledObject.
    /// Remembers that `labels` has series (`trigger_*`), for [`Self::forget_scaled_object`].
    pub fn track_trigger(&self, labels: &TriggerLabels) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let key = (labels.namespace.clone(), labels.scaled_object.clone());
        let entry = series.entry(key).or_default();
        if !entry.triggers.contains(labels) {
            entry.triggers.insert(labels.clone());
        }
    }

    /// Remembers that `labels` has a `trigger_errors` series.
    pub fn track_error(&self, labels: &TriggerErrorLabels) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let key = (labels.namespace.clone(), labels.scaled_object.clone());
        let entry = series.entry(key).or_default();
        if !entry.errors.contains(labels) {
            entry.errors.insert(labels.clone());
        }
    }

    /// Removes every series of a deleted (or paused) ScaledObject: a deleted object exports
    /// nothing more, and its label sets do not pile up in memory under churn.
    pub fn forget_scaled_object(&self, namespace: &str, name: &str) {
        let removed = self
            .series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(namespace.to_string(), name.to_string()));
        if let Some(series) = removed {
            for l in &series.triggers {
                self.trigger_value.remove(l);
                self.trigger_target.remove(l);
                self.trigger_fallback.remove(l);
                self.trigger_active.remove(l);
            }
            for l in &series.errors {
                self.trigger_errors.remove(l);
            }
        }
        let labels = ScaledObjectLabels {
            namespace: namespace.to_string(),
            scaled_object: name.to_string(),
        };
        self.prescale_min_replicas.remove(&labels);
        self.prescale_max_replicas.remove(&labels);
        self.prescale_next_change.remove(&labels);
        self.prescale_lead_time.remove(&labels);
        self.target_replicas.remove(&labels);
    }
}

/// Recounts `scaled_objects{condition,status}` from the cached ScaledObjects' statuses.
pub fn count_conditions(
    m: &OperatorMetrics,
    statuses: impl Iterator<Item = Option<crate::api::ScaledObjectStatus>>,
) {
    use crate::api::conditions::{ACTIVE, FALLBACK, PAUSED, READY};
    const TYPES: [&str; 4] = [READY, ACTIVE, FALLBACK, PAUSED];
    const STATUSES: [&str; 3] = ["True", "False", "Unknown"];
    let mut counts = [[0i64; 3]; 4];
    for status in statuses {
        let status = status.unwrap_or_default();
        for (i, t) in TYPES.iter().enumerate() {
            let s = status.condition(t).map_or("Unknown", |c| c.status.as_str());
            if let Some(j) = STATUSES.iter().position(|x| *x == s) {
                counts[i][j] += 1;
            }
        }
    }
    for (i, t) in TYPES.iter().enumerate() {
        for (j, s) in STATUSES.iter().enumerate() {
            m.scaled_objects
                .get_or_create(&ConditionLabels {
                    condition: t,
                    status: s,
                })
                .set(counts[i][j]);
        }
    }
}

/// A registry with the `prescale` prefix and the operator metrics in it.
pub fn operator_registry() -> (Registry, OperatorMetrics) {
    let mut registry = Registry::with_prefix("prescale");
    let metrics = OperatorMetrics::register(&mut registry);
    (registry, metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_with_prefix_and_labels() {
        let (registry, m) = operator_registry();
        let labels = TriggerLabels {
            namespace: "jobs".into(),
            scaled_object: "worker".into(),
            scaler: "redis".into(),
            trigger_index: "0".into(),
            metric: "s0-redis-jobs".into(),
        };
        m.trigger_value.get_or_create(&labels).set(12.0);
        m.trigger_target.get_or_create(&labels).set(5.0);
        m.leader.set(1);
        m.reconciles
            .get_or_create(&ReconcileLabels {
                result: ReconcileResult::Error,
                category: "invalid_spec",
            })
            .inc();
        m.query_latency
            .get_or_create(&ScalerTypeLabels {
                scaler: "redis".into(),
            })
            .observe(0.002);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        assert!(out.contains("prescale_scaler_metrics_value{namespace=\"jobs\",scaled_object=\"worker\",scaler=\"redis\",trigger_index=\"0\",metric=\"s0-redis-jobs\"} 12.0"), "{out}");
        assert!(out.contains("prescale_scaler_metrics_target{namespace=\"jobs\",scaled_object=\"worker\",scaler=\"redis\",trigger_index=\"0\",metric=\"s0-redis-jobs\"} 5.0"), "{out}");
        assert!(out.contains("\nprescale_leader 1\n"), "{out}");
        assert!(
            out.contains("prescale_reconciles_total{result=\"Error\",category=\"invalid_spec\"} 1"),
            "{out}"
        );
        assert!(
            out.contains(
                "prescale_scaler_query_latency_seconds_bucket{le=\"0.002\",scaler=\"redis\"} 1"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_forgotten_object_exports_none_of_its_series() {
        let (registry, m) = operator_registry();
        let labels = |so: &str| TriggerLabels {
            namespace: "jobs".into(),
            scaled_object: so.into(),
            scaler: "redis".into(),
            trigger_index: "0".into(),
            metric: "s0-redis-jobs".into(),
        };
        for so in ["gone", "kept"] {
            m.track_trigger(&labels(so));
            m.trigger_value.get_or_create(&labels(so)).set(1.0);
            m.trigger_active.get_or_create(&labels(so)).set(1);
            let errors = TriggerErrorLabels {
                namespace: "jobs".into(),
                scaled_object: so.into(),
                scaler: "redis".into(),
                metric: "s0-redis-jobs".into(),
                category: "timeout",
            };
            m.track_error(&errors);
            m.trigger_errors.get_or_create(&errors).inc();
        }
        m.forget_scaled_object("jobs", "gone");
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        assert!(!out.contains("scaled_object=\"gone\""), "{out}");
        for family in ["scaler_metrics_value", "scaler_active"] {
            let line = format!("prescale_{family}{{namespace=\"jobs\",scaled_object=\"kept\"");
            assert!(out.contains(&line), "{out}");
        }
        assert!(out.contains("scaled_object=\"kept\",scaler=\"redis\",metric=\"s0-redis-jobs\",category=\"timeout\"} 1"), "{out}");
        assert!(m.series.lock().unwrap().len() == 1);
    }
}
