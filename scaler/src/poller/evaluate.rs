//! One evaluation of a ScaledObject's triggers: all external triggers are read concurrently,
//! fallback bookkeeping is applied per metric (spec §3.6), and with `scalingModifiers` the
//! values are composed into the single `composite-metric` (spec §3.2).

use crate::scaling::fallback::{Behavior, Fallback, Health, Outcome, synthetic_value};
use crate::scaling::formula::Formula;
use crate::trigger::{COMPOSITE_METRIC, LiveTrigger};

#[cfg(test)]
mod tests;
use futures::future::join_all;
use prescale_scalers::{Error, MetricTarget, Sample};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// `advanced.scalingModifiers`, compiled.
#[derive(Debug, Clone)]
pub struct Modifiers {
    pub formula: Formula,
    pub target: MetricTarget,
    pub activation_target: f64,
}

/// What the evaluation needs to know about the scale target.
#[derive(Debug, Clone, Copy, Default)]
pub struct TargetState {
    pub current_replicas: i32,
    pub ready_pods: i32,
}

/// The outcome for one served metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    pub metric_name: String,
    /// Index of the trigger (None for the composite metric).
    pub trigger_index: Option<usize>,
    /// The value to serve (real or fallback); `None` when failing without fallback.
    pub value: Option<f64>,
    pub active: bool,
    pub fallback: bool,
    /// Secret-free failure text (from the scalers crate) and its category.
    pub error: Option<(String, &'static str)>,
    pub latency: Duration,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    pub metrics: Vec<MetricResult>,
    /// Any metric active (composite: above the activation target; cpu/memory-only: always).
    pub active: bool,
    /// Some metric failed without a fallback covering it.
    pub errored: bool,
    /// Names of the metrics that made the object active.
    pub active_metrics: Vec<String>,
}

/// One trigger's read: the sample or its error, and how long the read took.
pub type Read = (Result<Sample, Error>, Duration);

/// Reads every external trigger once, concurrently, each bounded by `call_timeout` (I/O).
pub async fn sample(triggers: &[LiveTrigger], call_timeout: Duration) -> Vec<Read> {
    join_all(external(triggers).map(|t| async move {
        let started = Instant::now();
        let what = format!("trigger {} ({})", t.index, t.trigger_type);
        let res = Error::within(what, call_timeout, t.scaler.sample()).await;
        (res, started.elapsed())
    }))
    .await
}

fn external(triggers: &[LiveTrigger]) -> impl Iterator<Item = &LiveTrigger> {
    triggers.iter().filter(|t| t.spec.external_name().is_some())
}

/// Reads every trigger once and applies fallback and modifiers: [`sample`], then [`combine`].
pub async fn evaluate(
    triggers: &[LiveTrigger],
    fallback: Option<&Fallback>,
    modifiers: Option<&Modifiers>,
    target: TargetState,
    health: &mut BTreeMap<String, Health>,
    call_timeout: Duration,
) -> Evaluation {
    let reads = sample(triggers, call_timeout).await;
    combine(triggers, reads, fallback, modifiers, target, health)
}

/// The pure half of an evaluation: applies fallback bookkeeping to the reads of the external
/// triggers (in trigger order, as [`sample`] returns them) and composes `scalingModifiers`.
/// `health` is the object's `status.health`, updated in place (only when a fallback is
/// configured, as KEDA does). The simulator feeds it reads from series.
pub fn combine(
    triggers: &[LiveTrigger],
    reads: Vec<Read>,
    fallback: Option<&Fallback>,
    modifiers: Option<&Modifiers>,
    target: TargetState,
    health: &mut BTreeMap<String, Health>,
) -> Evaluation {
    let external: Vec<&LiveTrigger> = external(triggers).collect();
    let mut eval = Evaluation::default();
    let fallback_replicas = fallback.map(|f| f.replicas_for(target.current_replicas));
    let mut formula_vars: BTreeMap<String, Option<f64>> = BTreeMap::new();
    let mut any_below_threshold_failure = false;
    let mut any_fallback = false;

    for (t, (res, latency)) in external.iter().zip(reads) {
        let name = t.spec.external_name().unwrap_or_default().to_string();
        let mut m = MetricResult {
            metric_name: name.clone(),
            trigger_index: Some(t.index),
            value: None,
            active: false,
            fallback: false,
            error: None,
            latency,
        };
        let outcome = match (&res, fallback) {
            (_, Some(f)) => health
                .entry(name.clone())
                .or_default()
                .record(res.is_ok(), f.failure_threshold),
            (Ok(_), None) => Outcome::Healthy,
            (Err(_), None) => Outcome::Failing,
        };
        match (res, outcome) {
            (Ok(Sample { value, active }), _) => {
                m.value = Some(value);
                m.active = active;
                formula_vars.insert(t.name.clone(), Some(value));
            }
            (Err(e), Outcome::UseFallback) if modifiers.is_none() => {
                m.error = Some((e.to_string(), e.category()));
                let r = fallback_replicas.unwrap_or(0);
                match synthetic_value(t.spec.target(), r, target.ready_pods) {
                    Ok(v) => {
                        m.value = Some(v);
                        m.active = true;
                        m.fallback = true;
                    }
                    Err(why) => m.error = Some((why, "fallback")),
                }
                any_fallback = true;
            }
            (Err(e), outcome) => {
                m.error = Some((e.to_string(), e.category()));
                formula_vars.insert(t.name.clone(), None);
                if outcome == Outcome::UseFallback {
                    any_fallback = true;
                } else {
                    any_below_threshold_failure = true;
                }
            }
        }
        eval.metrics.push(m);
    }

    match modifiers {
        None => {
            eval.errored = eval.metrics.iter().any(|m| m.value.is_none());
            for m in &eval.metrics {
                if m.active {
                    eval.active_metrics.push(m.metric_name.clone());
                }
            }
        }
        Some(mods) => {
            let composite = compose(
                mods,
                fallback,
                fallback_replicas,
                &formula_vars,
                any_fallback,
                any_below_threshold_failure,
            );
            let (value, error, is_fallback) = match composite {
                Ok((v, fb)) => (Some(v), None, fb),
                Err(e) => (None, Some((e, "formula")), false),
            };
            let active = value.is_some_and(|v| v > mods.activation_target) || is_fallback;
            eval.errored = value.is_none();
            if active {
                eval.active_metrics.push(COMPOSITE_METRIC.to_string());
            }
            eval.metrics.push(MetricResult {
                metric_name: COMPOSITE_METRIC.to_string(),
                trigger_index: None,
                value,
                active,
                fallback: is_fallback,
                error,
                latency: Duration::ZERO,
            });
        }
    }
    // cpu/memory-only objects are always active (KEDA): the HPA owns them entirely.
    if external.is_empty() && !triggers.is_empty() {
        eval.active = true;
    } else {
        eval.active = !eval.active_metrics.is_empty();
    }
    eval
}

/// The composite value, and whether it is a fallback value.
fn compose(
    mods: &Modifiers,
    fallback: Option<&Fallback>,
    fallback_replicas: Option<i32>,
    vars: &BTreeMap<String, Option<f64>>,
    any_fallback: bool,
    any_failing: bool,
) -> Result<(f64, bool), String> {
    let target = mods.target.number;
    if any_failing {
        return Err("a trigger used by the scalingModifiers formula failed".to_string());
    }
    if any_fallback {
        let r = f64::from(fallback_replicas.unwrap_or(0));
        if fallback.map(|f| f.behavior) == Some(Behavior::ScalingModifiers) {
            // failed triggers are nil in the formula; a nil result falls back to replicas × target
            return match mods.formula.eval(vars) {
                Ok(Some(v)) => Ok((v, true)),
                Ok(None) | Err(_) => Ok((r * target, true)),
            };
        }
        return Ok((r * target, true));
    }
    match mods.formula.eval(vars) {
        Ok(Some(v)) => Ok((v, false)),
        Ok(None) => Err("the scalingModifiers formula yielded nil".to_string()),
        Err(e) => Err(format!("the scalingModifiers formula failed: {e}")),
    }
}
