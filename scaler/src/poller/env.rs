//! What a poll loop may touch: the writer, the caches it reads, the MetricStore it fills, its
//! metrics, the clock and the measured pod start-ups. Narrower than the operator's `Context`,
//! so a loop cannot reach the controller's machinery.

use crate::api::ScaledObject;
use crate::leader::Leadership;
use crate::metric_store::MetricStore;
use crate::prescaling::startup::{LeadSettings, PodStartups};
use crate::telemetry::metrics::OperatorMetrics;
use crate::write::Writer;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::runtime::reflector::{ObjectRef, Store};
use std::sync::Arc;

/// A poll loop's environment.
#[derive(Clone)]
pub struct Env {
    pub writer: Writer,
    pub leader: Leadership,
    pub metrics: OperatorMetrics,
    pub metric_store: Arc<MetricStore>,
    pub scaled_objects: Store<ScaledObject>,
    pub hpas: Store<HorizontalPodAutoscaler>,
    pub clock: Arc<dyn prescale_scalers::Clock>,
    pub startups: Arc<PodStartups>,
    pub lead: LeadSettings,
}

impl Env {
    /// The ScaledObject as the cache holds it.
    pub fn scaled_object(&self, namespace: &str, name: &str) -> Option<Arc<ScaledObject>> {
        self.scaled_objects
            .get(&ObjectRef::new(name).within(namespace))
    }

    /// `(minReplicas, maxReplicas)` of the HPA `name` in `namespace` as the cache holds it.
    pub fn held_bounds(&self, namespace: &str, name: &str) -> Option<(i32, i32)> {
        held_bounds(&self.hpas, namespace, name)
    }
}

/// `(minReplicas, maxReplicas)` of a cached HPA.
pub fn held_bounds(
    hpas: &Store<HorizontalPodAutoscaler>,
    namespace: &str,
    name: &str,
) -> Option<(i32, i32)> {
    hpas.get(&ObjectRef::new(name).within(namespace))
        .map(|h| (h.spec.min_replicas.unwrap_or(1), h.spec.max_replicas))
}
