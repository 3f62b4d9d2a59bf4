//! KEDA's ScaledJob numbers as pure functions: each trigger's queue length and "max value"
//! (`CalculateQueueLengthAndMaxValue`), their combination across triggers
//! (`multipleScalersCalculation`, `IsScaledJobActive`), and how many Jobs to create given the
//! running and pending ones (`getScalingDecision` with the `default`, `custom`, `accurate` and
//! `eager` strategies). The table tests carry KEDA's own test vectors.

use crate::api::{JobScalingStrategy, ScaledJobSpec};
use prescale_scalers::{MetricSpec, MetricType};

/// One trigger's reading as KEDA's ScaledJob loop sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalerMetrics {
    pub queue_length: f64,
    pub max_value: f64,
    pub is_active: bool,
}

impl ScalerMetrics {
    /// `queueLength` is the value; `maxValue = min(queueLength / target, maxReplicaCount)`,
    /// 0 when the trigger has no `AverageValue` target (KEDA reads only `AverageValue`).
    pub fn from_reading(
        value: f64,
        average_target: Option<f64>,
        active: bool,
        max_replicas: i64,
    ) -> Self {
        let target = average_target.unwrap_or(0.0);
        let max_value = if target != 0.0 {
            (value / target).min(max_replicas as f64)
        } else {
            0.0
        };
        Self {
            queue_length: value,
            max_value,
            is_active: active,
        }
    }
}

impl ScalerMetrics {
    /// One trigger's sample as the ScaledJob loop reads it: the target counts only when it is
    /// an `AverageValue` (e.g. `listLength`).
    pub fn from_sample(spec: &MetricSpec, value: f64, active: bool, max_replicas: i64) -> Self {
        let target =
            (spec.target().metric_type == MetricType::AverageValue).then_some(spec.target().number);
        Self::from_reading(value, target, active, max_replicas)
    }
}

/// What the triggers say together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Combined {
    pub is_active: bool,
    /// `scaleTo` (ceil of the combined queue length).
    pub queue_length: i64,
    /// `maxScale` (ceil of the combined max value, capped at `MaxReplicaCount()`).
    pub max_value: i64,
}

/// Go's `int64(math.Ceil(x))` as KEDA guards it: saturating, NaN → 0.
fn ceil_i64(x: f64) -> i64 {
    x.ceil() as i64
}

/// `IsScaledJobActive`: combine the triggers' metrics by `max` (default), `min`, `avg` or
/// `sum`, only active triggers counting; a `minReplicaCount` above 0 makes the ScaledJob
/// active anyway.
pub fn combine(
    metrics: &[ScalerMetrics],
    calculation: &str,
    min_replicas: i64,
    max_replicas: i64,
) -> Combined {
    let (mut queue, mut max, mut active) = (0.0_f64, 0.0_f64, false);
    match calculation {
        "min" => {
            for m in metrics {
                if (queue == 0.0 || m.queue_length < queue) && m.is_active {
                    (queue, max, active) = (m.queue_length, m.max_value, true);
                }
            }
        }
        "avg" => {
            let active_ones: Vec<_> = metrics.iter().filter(|m| m.is_active).collect();
            if !active_ones.is_empty() {
                let n = active_ones.len() as f64;
                queue = active_ones.iter().map(|m| m.queue_length).sum::<f64>() / n;
                max = active_ones.iter().map(|m| m.max_value).sum::<f64>() / n;
                active = true;
            }
        }
        "sum" => {
            for m in metrics.iter().filter(|m| m.is_active) {
                queue += m.queue_length;
                max += m.max_value;
                active = true;
            }
        }
        _ => {
            for m in metrics {
                if m.queue_length > queue && m.is_active {
                    (queue, max, active) = (m.queue_length, m.max_value, true);
                }
            }
        }
    }
    if min_replicas > 0 {
        active = true;
    }
    let max = max.min(max_replicas as f64);
    Combined {
        is_active: active,
        queue_length: ceil_i64(queue),
        max_value: ceil_i64(max),
    }
}

/// A strategy as KEDA picks it: `custom` with an unparsable percentage falls back to
/// `default`, as does any unknown name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    Default,
    Custom { deduction: i64, percentage: f64 },
    Accurate,
    Eager,
}

impl Strategy {
    pub fn from_spec(s: &JobScalingStrategy) -> Self {
        match s.strategy.as_str() {
            "custom" => match s
                .custom_scaling_running_job_percentage
                .trim()
                .parse::<f64>()
            {
                Ok(percentage) => Strategy::Custom {
                    deduction: s.custom_scaling_queue_length_deduction.unwrap_or(0) as i64,
                    percentage,
                },
                Err(_) => Strategy::Default,
            },
            "accurate" => Strategy::Accurate,
            "eager" => Strategy::Eager,
            _ => Strategy::Default,
        }
    }

    /// `GetEffectiveMaxScale`: (effective max scale, scaleTo).
    pub fn effective_max_scale(
        self,
        max_scale: i64,
        running: i64,
        pending: i64,
        max_replicas: i64,
        scale_to: i64,
    ) -> (i64, i64) {
        match self {
            Strategy::Default => (max_scale - running, scale_to),
            Strategy::Custom {
                deduction,
                percentage,
            } => {
                // Go: int64(float64(running) * percentage) truncates toward zero
                let by_running = (running as f64 * percentage) as i64;
                (
                    (max_scale - deduction - by_running).min(max_replicas),
                    scale_to,
                )
            }
            Strategy::Accurate => {
                if max_scale + running > max_replicas {
                    (max_replicas - running, scale_to)
                } else {
                    (max_scale - pending, scale_to)
                }
            }
            Strategy::Eager => (
                (max_replicas - running - pending).min(max_scale),
                max_replicas,
            ),
        }
    }
}

/// The inputs of one poll's decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    pub strategy: Strategy,
    /// KEDA's `MinReplicaCount()`.
    pub min_replicas: i64,
    /// KEDA's `MaxReplicaCount()` (`maxReplicaCount - MinReplicaCount()`).
    pub max_replicas: i64,
    pub running: i64,
    pub pending: i64,
    pub combined: Combined,
}

/// `getScalingDecision`: (effective max scale ≥ 0, scaleTo). Below the minimum the missing
/// Jobs are made up; otherwise the strategy decides on the Jobs above the minimum.
pub fn scaling_decision(i: &Inputs) -> (i64, i64) {
    let (eff, scale_to) = if i.running < i.min_replicas {
        let missing = i.min_replicas - i.running;
        (missing, missing)
    } else {
        i.strategy.effective_max_scale(
            i.combined.max_value,
            i.running - i.min_replicas,
            i.pending,
            i.max_replicas,
            i.combined.queue_length,
        )
    };
    (eff.max(0), scale_to)
}

/// How many Jobs to create this poll (`createJobs`): none unless active, else
/// `min(scaleTo, effective max scale)`.
pub fn jobs_to_create(i: &Inputs) -> i64 {
    if !i.combined.is_active {
        return 0;
    }
    let (eff, scale_to) = scaling_decision(i);
    if eff <= 0 {
        0
    } else {
        scale_to.min(eff).max(0)
    }
}

/// One poll's decision for a ScaledJob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub inputs: Inputs,
    /// Jobs to create now (0 when inactive).
    pub create: i64,
}

/// `RequestJobScale`'s numbers for one poll of a ScaledJob with `spec`: its triggers'
/// `metrics` combined, and the Jobs to create given `running` (unfinished) and `pending` Jobs.
/// The operator's poll and `prescale simulate` both decide with this.
pub fn decide(
    spec: &ScaledJobSpec,
    metrics: &[ScalerMetrics],
    running: i64,
    pending: i64,
) -> Decision {
    let s = spec.scaling_strategy();
    let combined = combine(
        metrics,
        &s.multiple_scalers_calculation,
        spec.min_replica_count(),
        spec.max_replica_count(),
    );
    let inputs = Inputs {
        strategy: Strategy::from_spec(&s),
        min_replicas: spec.min_replica_count(),
        max_replicas: spec.max_replica_count(),
        running,
        pending,
        combined,
    };
    Decision {
        inputs,
        create: jobs_to_create(&inputs),
    }
}

#[cfg(test)]
mod tests;
