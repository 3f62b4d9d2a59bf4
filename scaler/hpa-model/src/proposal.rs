//! Each metric's replica proposal (`replica_calculator.go`) and how they combine
//! (`computeReplicasForMetrics`).
//!
//! - **External `Value` V**: usage U = sum of the items, r = U / V. With spec ≠ 0: inside the
//!   tolerance → spec; otherwise ceil(r × readyPods), an error if the selector matches no
//!   pods (0 ready pods give 0). With spec = 0 (HPAScaleToZero): ceil(r), no tolerance. The
//!   multiplier is the *ready pods*, not the spec.
//! - **External `AverageValue` A**: r = U / (A × statusReplicas); inside → statusReplicas
//!   (not spec), outside → ceil(U / A) capped at int32 max. Reported value ceil(U / status).
//! - **Resource `Utilization` T%**: the simple path of `GetResourceReplicas` (every ready pod
//!   has a sample, no unready pods): utilisation = trunc(mean of the samples), r = util / T;
//!   inside → spec, outside → ceil(r × samples).
//!
//! Zero items are an error (`no metrics returned from … metrics API`), never zero. The sums
//! saturate at `i64::MAX` the way each Go function does: Value checks before adding,
//! AverageValue after (so a negative running sum also reads as the maximum there).
//!
//! Combining: the maximum of the successful proposals (Go's loop, which also lets a proposal
//! replace a 0). If every metric failed, or some failed and the rest want fewer than spec,
//! nothing scales and the first failure's reason is reported; some failed and the rest want
//! ≥ spec → the rest decide (scaling up on partial data is allowed, down is not).

use crate::outcome::{Proposal, Reason};
use crate::spec::{HpaSpec, Milli, Observation, Target};
use crate::tolerance::Tolerances;

/// Why the metrics gave no recommendation: the first failure's reason and message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub reason: Reason,
    pub message: String,
}

/// Every metric's proposal, in spec order.
pub(crate) fn all(
    spec: &HpaSpec,
    obs: &Observation,
    tol: &Tolerances,
) -> Vec<Result<Proposal, String>> {
    spec.metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let items = match obs.metrics.get(i) {
                Some(r) => r.clone(),
                None => Err("no value was observed for this metric".to_string()),
            };
            let p = match m.target {
                Target::Value(v) => value(items, v, obs, tol),
                Target::AverageValue(a) => average_value(items, a, obs, tol),
                Target::Utilization(t) => utilization(&m.name, items, t, obs, tol),
            };
            p.map(|(usage, ratio, replicas, within_tolerance)| Proposal {
                metric: m.name.clone(),
                usage,
                ratio,
                replicas,
                within_tolerance,
            })
            .map_err(|e| match m.target {
                Target::Value(_) => format!("failed to get external metric {}: {e}", m.name),
                Target::AverageValue(_) => format!("failed to get {} external metric: {e}", m.name),
                Target::Utilization(_) => format!("failed to get {} utilization: {e}", m.name),
            })
        })
        .collect()
}

/// (usage, ratio, replicas, within tolerance)
type Calc = Result<(Milli, f64, i32, bool), String>;

const NO_EXTERNAL: &str = "no metrics returned from external metrics API";
const NO_PODS: &str = "no pods returned by selector while calculating replica count";

/// `ceil(x)` as `int32`, capped at the maximum as the Go code caps it.
fn ceil_i32(x: f64) -> i32 {
    if x > f64::from(i32::MAX) {
        i32::MAX
    } else {
        x.ceil() as i32
    }
}

fn value(
    items: Result<Vec<Milli>, String>,
    target: Milli,
    obs: &Observation,
    tol: &Tolerances,
) -> Calc {
    let items = items?;
    if items.is_empty() {
        return Err(NO_EXTERNAL.into());
    }
    let mut usage: i64 = 0;
    for v in items {
        if v > 0 && usage > i64::MAX - v {
            usage = i64::MAX;
            break;
        }
        usage = usage.wrapping_add(v);
    }
    let ratio = usage as f64 / target as f64;
    if obs.spec_replicas == 0 {
        return Ok((usage, ratio, ratio.ceil() as i32, false));
    }
    if tol.is_within(ratio) {
        return Ok((usage, ratio, obs.spec_replicas, true));
    }
    let ready = obs
        .ready_pods
        .ok_or_else(|| format!("unable to calculate ready pods: {NO_PODS}"))?;
    Ok((usage, ratio, ceil_i32(ratio * f64::from(ready)), false))
}

fn average_value(
    items: Result<Vec<Milli>, String>,
    target: Milli,
    obs: &Observation,
    tol: &Tolerances,
) -> Calc {
    let items = items?;
    if items.is_empty() {
        return Err(NO_EXTERNAL.into());
    }
    let mut usage: i64 = 0;
    for v in items {
        usage = usage.wrapping_add(v);
        if usage < 0 {
            usage = i64::MAX;
            break;
        }
    }
    let status = obs.status_replicas;
    let ratio = usage as f64 / (target as f64 * f64::from(status));
    let within = tol.is_within(ratio);
    let replicas = if within {
        status
    } else {
        ceil_i32(usage as f64 / target as f64)
    };
    let reported = if usage as f64 >= i64::MAX as f64 {
        i64::MAX
    } else {
        (usage as f64 / f64::from(status)).ceil() as i64
    };
    Ok((reported, ratio, replicas, within))
}

fn utilization(
    name: &str,
    items: Result<Vec<Milli>, String>,
    target: i32,
    obs: &Observation,
    tol: &Tolerances,
) -> Calc {
    let items = items?;
    if items.is_empty() {
        return Err(format!(
            "unable to get metrics for resource {name}: no metrics returned from resource metrics API"
        ));
    }
    if obs.ready_pods.is_none() {
        return Err(NO_PODS.into());
    }
    let sum = items.iter().fold(0i64, |s, v| s.saturating_add(*v));
    let util = sum / items.len() as i64;
    let ratio = util as f64 / f64::from(target);
    if tol.is_within(ratio) {
        return Ok((util, ratio, obs.spec_replicas, true));
    }
    Ok((
        util,
        ratio,
        (ratio * items.len() as f64).ceil() as i32,
        false,
    ))
}

/// The combined recommendation, or why there is none.
pub(crate) fn combine(
    spec: &HpaSpec,
    proposals: &[Result<Proposal, String>],
    spec_replicas: i32,
) -> Result<i32, Failure> {
    let mut replicas = 0;
    let mut first_error = None;
    let mut invalid = 0;
    for (i, p) in proposals.iter().enumerate() {
        match p {
            Ok(p) if replicas == 0 || p.replicas > replicas => replicas = p.replicas,
            Ok(_) => {}
            Err(e) => {
                invalid += 1;
                first_error.get_or_insert((i, e));
            }
        }
    }
    if invalid >= proposals.len() || (invalid > 0 && replicas < spec_replicas) {
        let (reason, message) = match first_error {
            Some((i, e)) => (
                match spec.metrics[i].target {
                    Target::Utilization(_) => Reason::FailedGetResourceMetric,
                    _ => Reason::FailedGetExternalMetric,
                },
                format!("the HPA was unable to compute the replica count: {e}"),
            ),
            // No metrics at all (the API server defaults them to cpu Utilization 80 %).
            None => (
                Reason::FailedGetResourceMetric,
                "the HPA was unable to compute the replica count: the HPA has no metrics".into(),
            ),
        };
        return Err(Failure { reason, message });
    }
    Ok(replicas)
}
