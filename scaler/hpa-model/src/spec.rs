//! What one sync reads: the HPA's spec, the controller's flags and what the controller observed
//! (the target's `/scale`, the ready pods and each metric's items).
//!
//! The model works in the units the controller works in: metric values and targets are
//! milli-units as `i64` (`Quantity.MilliValue`), replica counts are `i32`, and time is
//! milliseconds on any monotonic scale the caller chooses (`now_ms` and the history's `at_ms`
//! only need to agree with each other).

use crate::behavior::Behavior;
use serde::{Deserialize, Serialize};

/// Milli-units (`Quantity.MilliValue`): `"500m"` is 500, `"2"` is 2000.
pub type Milli = i64;

/// A metric's target, as `spec.metrics[].{external,resource}.target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// External `Value`: the metric's sum against the target, times the ready pods.
    Value(Milli),
    /// External `AverageValue` (KEDA's default): the sum divided by the target per pod.
    AverageValue(Milli),
    /// Resource `Utilization`: average utilisation in percent of the pods' requests.
    Utilization(i32),
}

/// One `spec.metrics[]` entry: a name (the external metric's name, or the resource's such as
/// `cpu`) and its target. The target's kind also says the source: `Value`/`AverageValue` are
/// External metrics, `Utilization` a Resource metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub target: Target,
}

/// The part of an `autoscaling/v2` HorizontalPodAutoscaler's spec the algorithm reads.
/// `min_replicas` is already defaulted (the API server's default is 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaSpec {
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub metrics: Vec<Metric>,
    /// `spec.behavior` as written; the API server's defaults are filled by the model
    /// ([`Behavior::defaulted`]) and only when this is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<Behavior>,
}

/// The controller's own flags and feature gates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ControllerConfig {
    /// `--horizontal-pod-autoscaler-tolerance` (default 0.1), for both directions unless the
    /// HPA sets its own.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` in seconds (default 300): the
    /// legacy path's window, and the behavior path's scale-down window when unset.
    pub downscale_stabilization_seconds: i64,
    /// The `HPAConfigurableTolerance` gate (beta and on by default from 1.35): per-HPA
    /// tolerances from `behavior.scaleUp/scaleDown.tolerance`.
    pub configurable_tolerance: bool,
    /// The tolerance test before 1.33, `|1 − r| ≤ tol`, instead of the inclusive
    /// `1 − downTol ≤ r ≤ 1 + upTol`. The two differ at the upper edge by float rounding.
    pub legacy_tolerance_test: bool,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            tolerance: 0.1,
            downscale_stabilization_seconds: 300,
            configurable_tolerance: true,
            legacy_tolerance_test: false,
        }
    }
}

/// What the controller saw at the start of the sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// The target's `/scale` `spec.replicas` ("current replicas" in the controller).
    pub spec_replicas: i32,
    /// The target's `/scale` `status.replicas` (the AverageValue divisor).
    pub status_replicas: i32,
    /// Pods matching the target's selector with phase Running and condition Ready=True;
    /// `None` when the selector matches no pods at all (an error where the count is needed).
    pub ready_pods: Option<i32>,
    /// One entry per [`HpaSpec::metrics`] entry: the items the metrics API returned (in
    /// milli-units; for a Utilization target, one ready pod's utilisation in percent each), or
    /// the fetch error as the replica calculator words it (e.g. `unable to get metrics for
    /// resource cpu: no metrics returned from resource metrics API`). The model adds the
    /// controller's outer wording (`failed to get external metric NAME: …`). A missing entry
    /// counts as an error.
    pub metrics: Vec<Result<Vec<Milli>, String>>,
}
