//! Tests: every vector of kubernetes.md §B.6 (`vectors`), table tests of each step's edges
//! (`tolerance`, `proposals`, `windows`, `policies`), and the serde forms (`serde_forms`). The helpers build specs and
//! drive a workload that follows the HPA at exact 15 s ticks.

mod policies;
mod proposals;
mod serde_forms;
mod tolerance;
mod vectors;
mod windows;

use crate::*;

pub(super) const TICK_MS: i64 = 15_000;

pub(super) fn average(name: &str, target: Milli) -> Metric {
    Metric {
        name: name.into(),
        target: Target::AverageValue(target),
    }
}

pub(super) fn value(name: &str, target: Milli) -> Metric {
    Metric {
        name: name.into(),
        target: Target::Value(target),
    }
}

pub(super) fn spec(
    min: i32,
    max: i32,
    metrics: Vec<Metric>,
    behavior: Option<Behavior>,
) -> HpaSpec {
    HpaSpec {
        min_replicas: min,
        max_replicas: max,
        metrics,
        behavior,
    }
}

/// A settled workload: spec = status = ready = `replicas`, one value per metric.
pub(super) fn settled(replicas: i32, values: &[Milli]) -> Observation {
    Observation {
        spec_replicas: replicas,
        status_replicas: replicas,
        ready_pods: Some(replicas),
        metrics: values.iter().map(|v| Ok(vec![*v])).collect(),
    }
}

/// Scale-down rules with the given window and policies (scaleUp defaulted).
pub(super) fn down_rules(
    window_s: i32,
    policies: Vec<Policy>,
    select: Option<SelectPolicy>,
) -> Behavior {
    Behavior {
        scale_up: None,
        scale_down: Some(ScalingRules {
            stabilization_window_seconds: Some(window_s),
            select_policy: select,
            policies: Some(policies),
            tolerance: None,
        }),
    }
}

/// Runs `ticks` syncs 15 s apart from t = 0 on a workload that becomes what the HPA writes
/// (spec = status = ready), asking `values(replicas, tick)` for the metric values each time.
/// Returns the spec replicas after each sync.
pub(super) fn follow(
    hpa: &mut Hpa,
    start: i32,
    ticks: usize,
    values: impl Fn(i32, usize) -> Vec<Milli>,
) -> Vec<i32> {
    let mut replicas = start;
    (0..ticks)
        .map(|t| {
            let o = hpa.sync(t as i64 * TICK_MS, &settled(replicas, &values(replicas, t)));
            replicas = o.desired_replicas;
            replicas
        })
        .collect()
}

/// The collapsed sequence of distinct values, in order (3,3,7,7,14 → 3,7,14).
pub(super) fn steps(seq: &[i32]) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::new();
    for v in seq {
        if out.last() != Some(v) {
            out.push(*v);
        }
    }
    out
}
