//! What a poll loop runs from: the pure [`PollSpec`] the step decides with, and the
//! [`PollPlan`] that adds the live parts (connected triggers, the target reader).

use crate::api::ScaledObjectStatus;
use crate::scaling::fallback::Fallback;
use crate::scaling::pause::Pause;
use crate::target::{TargetReader, TargetRef};
use crate::trigger::LiveTrigger;
use chrono::{DateTime, Utc};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use super::evaluate::Modifiers;

/// A ScaledObject's scaling settings as the reconcile planned them: plain data, so the pure
/// step (and the simulator) can use it without a cluster.
#[derive(Debug, Clone)]
pub struct PollSpec {
    pub namespace: String,
    pub name: String,
    pub interval: Duration,
    pub fallback: Option<Fallback>,
    pub modifiers: Option<Modifiers>,
    /// `minReplicaCount` (0 when unset).
    pub min: i32,
    /// `maxReplicaCount`.
    pub max: i32,
    pub idle: Option<i32>,
    pub cooldown_period_s: i32,
    pub initial_cooldown_period_s: i32,
    /// The ScaledObject's creation (the initial cooldown counts from it).
    pub created: DateTime<Utc>,
    pub pause: Pause,
    pub target: TargetRef,
    /// Backend call timeout.
    pub call_timeout: Duration,
    /// The HPA as reconcile applied it; the loop re-applies it when pre-scaling moves its
    /// `minReplicas`/`maxReplicas`.
    pub hpa: DesiredHpa,
}

/// The HPA as the reconcile applied it, kept as its JSON with its name and bounds at hand:
/// the loop needs the whole object only when pre-scaling moves its bounds, and the
/// `k8s-openapi` struct with its content took ~2.5 KB in every poll loop (issue 11).
#[derive(Debug, Clone, Default)]
pub struct DesiredHpa {
    name: String,
    bounds: (i32, i32),
    json: Box<[u8]>,
}

impl DesiredHpa {
    pub fn new(hpa: &HorizontalPodAutoscaler) -> Self {
        Self {
            name: hpa.metadata.name.clone().unwrap_or_default(),
            bounds: (hpa.spec.min_replicas.unwrap_or(1), hpa.spec.max_replicas),
            // serializing a k8s-openapi struct cannot fail (string-keyed maps only)
            json: serde_json::to_vec(hpa).unwrap_or_default().into(),
        }
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `(minReplicas, maxReplicas)` as applied (`minReplicas` defaults to 1).
    pub fn bounds(&self) -> (i32, i32) {
        self.bounds
    }

    /// The whole HPA.
    pub fn object(&self) -> Result<HorizontalPodAutoscaler, serde_json::Error> {
        serde_json::from_slice(&self.json)
    }
}

/// Everything a poll loop needs, built by the reconcile from a valid ScaledObject.
#[derive(Clone)]
pub struct PollPlan {
    pub spec: PollSpec,
    /// What the loop was built from (generation, auth parameters, resolved env): a different
    /// fingerprint replaces the loop.
    pub fingerprint: u64,
    pub triggers: Vec<LiveTrigger>,
    pub target: TargetReader,
    /// The pre-scaling plan computed last.
    pub plan_cache: Arc<Mutex<crate::prescaling::PlanCache>>,
    /// The last poll that kept the target active (the step's `last_active_seen`).
    pub last_active: Arc<Mutex<Option<DateTime<Utc>>>>,
    /// The status a reconcile handed to this new loop instead of writing it (see [`Handover`]).
    pub handover: Handover,
}

/// The status (Ready=True and the reconcile's summary) the reconcile of an object becoming
/// Ready hands to the object's new poll loop instead of writing it: the loop's first poll runs
/// at once, starts from it instead of the cached object's status, and writes the two in one
/// status write (issue 11: one write fewer per new ScaledObject). It stays here until a write
/// of it went through (a failed write is retried by the next poll, and a poll that changes
/// nothing still writes it); while it does, the reconcile leaves the object alone (the write's
/// watch event reconciles it again).
#[derive(Clone, Default)]
pub struct Handover(Arc<Mutex<Option<ScaledObjectStatus>>>);

impl Handover {
    /// A hand-over of `status`.
    pub fn of(status: ScaledObjectStatus) -> Self {
        Self(Arc::new(Mutex::new(Some(status))))
    }

    /// The status handed over and not written yet.
    pub fn pending(&self) -> Option<ScaledObjectStatus> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether a handed-over status waits for its write.
    pub fn is_pending(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// A write that included the handed-over status went through.
    pub fn written(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desired_hpa_reads_back_whole_with_its_name_and_bounds() {
        let hpa: HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "keda-hpa-web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "maxReplicas": 9,
                "metrics": [{"type": "External", "external": {
                    "metric": {"name": "s0-redis-q", "selector": {"matchLabels": {"scaledobject.keda.sh/name": "web"}}},
                    "target": {"type": "AverageValue", "averageValue": "5"}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}}
        }))
        .unwrap();
        let kept = DesiredHpa::new(&hpa);
        assert_eq!(kept.name(), "keda-hpa-web");
        assert_eq!(kept.bounds(), (1, 9), "minReplicas defaults to 1");
        assert_eq!(kept.object().unwrap(), hpa);
        let mut with_min = hpa.clone();
        with_min.spec.min_replicas = Some(3);
        assert_eq!(DesiredHpa::new(&with_min).bounds(), (3, 9));
    }
}
