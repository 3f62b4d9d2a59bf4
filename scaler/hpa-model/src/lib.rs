//! The Kubernetes HPA controller's per-sync algorithm as a pure function, so Prescale can say
//! what the HPA will do with the numbers it serves — in `explain`, in simulations, and as the
//! HPA controller of the API stand-in — without a cluster.
//!
//! One [`sync`] is one pass of `reconcileAutoscaler` (`pkg/controller/podautoscaler/
//! horizontal.go`, 1.33+):
//! 1. The first sync of an HPA seeds its history with one recommendation equal to the current
//!    spec replicas ([`History`]).
//! 2. Guard rails, in order: spec 0 with `minReplicas` ≠ 0 → scaling disabled (no write);
//!    spec > max → max; spec < min → min. The last two bypass stabilisation and rate limits.
//! 3. Each metric proposes a replica count (`proposal.rs`): External `Value`/`AverageValue`
//!    and Resource `Utilization`, with the tolerance (`tolerance.rs`).
//! 4. The proposals combine to their maximum; unusable metrics stop the sync when all fail or
//!    when the rest would scale down.
//! 5. Normalisation: without `behavior`, the legacy path (max over a 300 s window, then at
//!    most double or +4 per sync); with it, the API server's defaults (`behavior.rs`), the
//!    two-window stabilisation (`stabilize.rs`) and the policies' rate limits (`limits.rs`).
//! 6. A rescale is recorded as a scale event — only for HPAs with `behavior`, the only ones
//!    whose limits read them.
//!
//! Known differences from the controller, all outside what a sync's numbers depend on: the
//! error texts lack the namespace/selector layer the replica calculator adds (the caller's
//! error text is used as given); scale events are judged outdated from their timestamps
//! at each store rather than by a sticky flag (the same unless policy periods change between
//! syncs); on the spec-outside-bounds path the controller leaves ScalingActive and
//! ScalingLimited as they were, while [`Outcome`] reports TooFew/TooManyReplicas.

mod behavior;
mod history;
mod limits;
mod outcome;
mod proposal;
mod spec;
mod stabilize;
mod tolerance;

#[cfg(test)]
mod tests;

pub use behavior::{Behavior, Policy, PolicyKind, ScalingRules, SelectPolicy};
pub use history::{History, Recommendation, ScaleEvent};
pub use outcome::{
    ABLE_TO_SCALE_REASONS, Outcome, Proposal, Reason, SUCCEEDED_GET_SCALE, SUCCEEDED_RESCALE,
};
pub use spec::{ControllerConfig, HpaSpec, Metric, Milli, Observation, Target};
pub use stabilize::{READY_FOR_NEW_SCALE, SCALE_DOWN_STABILIZED, SCALE_UP_STABILIZED};
pub use tolerance::{Tolerances, quantity_to_f64};

use behavior::Resolved;

/// Pure: computes one sync and returns the outcome plus the history after it (records added,
/// events added).
pub fn sync(
    spec: &HpaSpec,
    config: &ControllerConfig,
    history: &History,
    now_ms: i64,
    obs: &Observation,
) -> (Outcome, History) {
    let mut h = history.clone();
    let current = obs.spec_replicas;
    h.seed(current, now_ms);
    let rules = spec.behavior.as_ref().map(|b| Resolved::new(b, config));
    let bounds = if current == 0 && spec.min_replicas != 0 {
        return (disabled(current), h);
    } else if current > spec.max_replicas {
        Some((spec.max_replicas, Reason::TooManyReplicas))
    } else if current < spec.min_replicas {
        Some((spec.min_replicas, Reason::TooFewReplicas))
    } else {
        None
    };
    let mut outcome = match bounds {
        Some((to, reason)) => forced(current, to, reason),
        None => match evaluate(spec, config, rules.as_ref(), &mut h, now_ms, obs) {
            Ok(o) => o,
            Err(o) => return (o, h),
        },
    };
    outcome.rescale = outcome.desired_replicas != current;
    if outcome.rescale {
        outcome.able_to_scale_reason = SUCCEEDED_RESCALE;
        if let Some(r) = &rules {
            let longest = if outcome.desired_replicas > current {
                r.up.longest_period_ms()
            } else {
                r.down.longest_period_ms()
            };
            h.store_event(current, outcome.desired_replicas, longest, now_ms);
        }
    }
    (outcome, h)
}

/// Steps 3–5: proposals, combination and normalisation. `Err` is the no-scaling outcome when
/// the metrics are unusable.
fn evaluate(
    spec: &HpaSpec,
    config: &ControllerConfig,
    rules: Option<&Resolved>,
    h: &mut History,
    now_ms: i64,
    obs: &Observation,
) -> Result<Outcome, Outcome> {
    let current = obs.spec_replicas;
    let tol = Tolerances::for_hpa(spec, config);
    let proposals = proposal::all(spec, obs, &tol);
    let raw = match proposal::combine(spec, &proposals, current) {
        Ok(raw) => raw,
        Err(f) => {
            return Err(Outcome {
                reason: f.reason,
                message: f.message,
                proposals,
                ..unchanged(current)
            });
        }
    };
    let bounds = (spec.min_replicas, spec.max_replicas);
    let ((stabilized, able), (limited, reason)) = match rules {
        None => {
            let s = stabilize::legacy(h, raw, now_ms, config.downscale_stabilization_seconds);
            (s, limits::legacy(current, s.0, bounds.0, bounds.1))
        }
        Some(r) => {
            let s =
                stabilize::with_behavior(h, raw, current, now_ms, r.up.window_ms, r.down.window_ms);
            (s, limits::with_behavior(r, h, current, s.0, bounds, now_ms))
        }
    };
    Ok(Outcome {
        desired_replicas: limited,
        reason,
        message: reason.limited_message().to_string(),
        proposals,
        raw: Some(raw),
        stabilized,
        limited,
        scaling_active: true,
        scaling_limited: limited != stabilized,
        able_to_scale_reason: able,
        rescale: false,
    })
}

/// The outcome that changes nothing (filled in by each no-scaling path).
fn unchanged(current: i32) -> Outcome {
    Outcome {
        desired_replicas: current,
        reason: Reason::DesiredWithinRange,
        message: String::new(),
        proposals: Vec::new(),
        raw: None,
        stabilized: current,
        limited: current,
        scaling_active: false,
        scaling_limited: false,
        able_to_scale_reason: SUCCEEDED_GET_SCALE,
        rescale: false,
    }
}

fn disabled(current: i32) -> Outcome {
    Outcome {
        reason: Reason::ScalingDisabled,
        message: "scaling is disabled since the replica count of the target is zero".into(),
        ..unchanged(current)
    }
}

/// Spec outside the bounds: straight to the bound.
fn forced(current: i32, to: i32, reason: Reason) -> Outcome {
    Outcome {
        desired_replicas: to,
        reason,
        message: match reason {
            Reason::TooManyReplicas => "Current number of replicas above Spec.MaxReplicas",
            _ => "Current number of replicas below Spec.MinReplicas",
        }
        .into(),
        stabilized: to,
        limited: to,
        scaling_active: true,
        scaling_limited: true,
        ..unchanged(current)
    }
}

/// Convenience stateful wrapper: one HPA and its controller memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Hpa {
    pub spec: HpaSpec,
    pub config: ControllerConfig,
    pub history: History,
}

impl Hpa {
    pub fn new(spec: HpaSpec, config: ControllerConfig) -> Self {
        Self {
            spec,
            config,
            history: History::default(),
        }
    }

    /// One sync at `now_ms`; the history is kept for the next.
    pub fn sync(&mut self, now_ms: i64, obs: &Observation) -> Outcome {
        let (outcome, history) = sync(&self.spec, &self.config, &self.history, now_ms, obs);
        self.history = history;
        outcome
    }
}
