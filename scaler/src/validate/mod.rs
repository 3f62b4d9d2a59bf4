//! ScaledObject checks as the operator makes them at reconcile (spec §1.5), plus the admission
//! webhook's checks that need no cluster. Used by reconcile and by `prescale validate`.
//! Every problem names the field and carries KEDA's message.

pub mod load;
pub mod report;

use crate::api::ScaledObject;
use crate::scaling::formula::Formula;
use prescale_scalers::{MetricSpec, TriggerInput};
use serde::Serialize;

/// One thing wrong with a ScaledObject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON path of the field, e.g. `spec.triggers[1].metadata`.
    pub field: String,
    /// Index of the trigger concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<usize>,
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            trigger: None,
            message: message.into(),
        }
    }

    fn trigger(index: usize, field: &str, message: impl Into<String>) -> Self {
        let field = if field.is_empty() {
            format!("spec.triggers[{index}]")
        } else {
            format!("spec.triggers[{index}].{field}")
        };
        Self {
            field,
            trigger: Some(index),
            message: message.into(),
        }
    }
}

const RESOURCE_TYPES: &[&str] = &["cpu", "memory"];

/// Checks of the spec alone: target, bounds, triggers, fallback, scalingModifiers, names.
pub fn check_spec(so: &ScaledObject) -> Vec<Problem> {
    let mut out = Vec::new();
    let spec = &so.spec;
    let name = so.metadata.name.clone().unwrap_or_default();
    if name.len() > 63 {
        out.push(Problem::new("metadata.name", format!("ScaledObject name {name:?} is longer than 63 characters (it is used as a label value)")));
    }
    let hpa = crate::hpa::hpa_name(so);
    if hpa.len() > 63 {
        out.push(Problem::new(
            "spec.advanced.horizontalPodAutoscalerConfig.name",
            format!("HPA name {hpa:?} is longer than 63 characters"),
        ));
    }
    if spec.scale_target_ref.name.is_empty() {
        out.push(Problem::new(
            "spec.scaleTargetRef.name",
            "ScaledObject.spec.scaleTargetRef.name is missing",
        ));
    }
    // bounds: effective min is max(min, 1) when set, 0 when unset (KEDA's quirk)
    let (min, max) = (spec.min_replica_count(), spec.max_replica_count());
    if min > max {
        out.push(Problem::new(
            "spec.minReplicaCount",
            format!("MinReplicaCount={min} must be less than MaxReplicaCount={max}"),
        ));
    }
    if let Some(idle) = spec.idle_replica_count {
        let effective_min = if spec.min_replica_count.is_some() {
            min.max(1)
        } else {
            0
        };
        if idle >= effective_min {
            out.push(Problem::new(
                "spec.idleReplicaCount",
                format!("IdleReplicaCount={idle} must be less than MinReplicaCount={min}"),
            ));
        }
    }
    if spec.triggers.is_empty() {
        out.push(Problem::new(
            "spec.triggers",
            "no triggers defined in the ScaledObject/ScaledJob",
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, t) in spec.triggers.iter().enumerate() {
        if t.type_.is_empty() {
            out.push(Problem::trigger(i, "type", "trigger type is missing"));
        }
        if let Some(n) = t.name.as_deref().filter(|n| !n.is_empty()) {
            if names.contains(&n) {
                out.push(Problem::trigger(i, "name", format!("triggerName {n:?} is defined multiple times in the ScaledObject/ScaledJob, but it must be unique")));
            }
            names.push(n);
        }
        if t.use_cached_metrics == Some(true)
            && ["cpu", "memory", "cron"].contains(&t.type_.as_str())
        {
            out.push(Problem::trigger(
                i,
                "useCachedMetrics",
                format!(
                    "property \"useCachedMetrics\" is not supported for {:?} scaler",
                    t.type_
                ),
            ));
        }
    }
    let only_resource = !spec.triggers.is_empty()
        && spec
            .triggers
            .iter()
            .all(|t| RESOURCE_TYPES.contains(&t.type_.as_str()));
    if only_resource && min == 0 {
        out.push(Problem::new("spec.minReplicaCount", "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)"));
    }
    let modifiers = spec
        .advanced
        .as_ref()
        .and_then(|a| a.scaling_modifiers.as_ref());
    if let Some(f) = &spec.fallback {
        if f.failure_threshold < 0 || f.replicas < 0 {
            out.push(Problem::new(
                "spec.fallback",
                format!(
                    "FailureThreshold={} & Replicas={} must both be greater than or equal to 0",
                    f.failure_threshold, f.replicas
                ),
            ));
        }
        let formula = modifiers.is_some_and(|m| !m.formula.trim().is_empty());
        if !formula
            && !spec
                .triggers
                .iter()
                .any(|t| !RESOURCE_TYPES.contains(&t.type_.as_str()))
        {
            out.push(Problem::new("spec.fallback", "at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled"));
        }
        if f.behavior == Some(crate::api::FallbackBehavior::ScalingModifiers) && !formula {
            out.push(Problem::new(
                "spec.fallback.behavior",
                "fallback behavior scalingModifiers needs spec.advanced.scalingModifiers.formula",
            ));
        }
    }
    if let Some(m) = modifiers {
        let base = "spec.advanced.scalingModifiers";
        if m.formula.trim().is_empty() {
            out.push(Problem::new(
                format!("{base}.formula"),
                "error ScalingModifiers.Formula is mandatory",
            ));
        } else {
            if m.target.trim().is_empty() {
                out.push(Problem::new(
                    format!("{base}.target"),
                    "formula is given but target is empty",
                ));
            } else if !m.target.trim().parse::<f64>().is_ok_and(|t| t > 0.0) {
                out.push(Problem::new(
                    format!("{base}.target"),
                    format!(
                        "scalingModifiers.target {:?} must be a number greater than 0",
                        m.target
                    ),
                ));
            }
            if let Err(e) = Formula::compile(&m.formula, &names) {
                out.push(Problem::new(format!("{base}.formula"), e.0));
            }
        }
        if let Some(a) = m.activation_target.as_deref()
            && a.trim().parse::<f64>().is_err()
        {
            out.push(Problem::new(
                format!("{base}.activationTarget"),
                format!("scalingModifiers.activationTarget {a:?} is not a number"),
            ));
        }
        if let Some(t) = m.metric_type.as_deref()
            && !["AverageValue", "Value", ""].contains(&t)
        {
            out.push(Problem::new(
                format!("{base}.metricType"),
                format!("scalingModifiers.metricType {t:?} must be AverageValue or Value"),
            ));
        }
    }
    out
}

/// Warnings KEDA's webhook gives (settings that have no effect).
pub fn warnings(so: &ScaledObject) -> Vec<String> {
    let spec = &so.spec;
    let mut out = Vec::new();
    let min_above_zero = spec.min_replica_count() > 0;
    let cached = spec
        .triggers
        .iter()
        .any(|t| t.use_cached_metrics == Some(true));
    // pre-scaling triggers (Prescale's own) are read every pollingInterval to move the floors
    let prescaling = spec
        .triggers
        .iter()
        .any(|t| prescale_scalers::prescale::TRIGGER_TYPES.contains(&t.type_.as_str()));
    if spec.polling_interval.is_some()
        && min_above_zero
        && spec.idle_replica_count.is_none()
        && !cached
        && !prescaling
    {
        out.push("spec.pollingInterval is set but has no effect: minReplicaCount > 0, no idleReplicaCount and no useCachedMetrics".into());
    }
    if spec.cooldown_period.is_some() && min_above_zero && spec.idle_replica_count.is_none() {
        out.push("spec.cooldownPeriod is set but has no effect: it only governs scaling to idleReplicaCount or 0".into());
    }
    out
}

/// Parses every resolved trigger with its scaler (offline: nothing is connected) and checks
/// that external metric names are unique. Returns the metric specs of the valid triggers.
pub fn check_triggers(
    so: &ScaledObject,
    inputs: &[TriggerInput],
) -> (Vec<Problem>, Vec<MetricSpec>) {
    let mut problems = Vec::new();
    let mut specs = Vec::new();
    for input in inputs {
        match prescale_scalers::registry::parse(input) {
            Ok(def) => specs.push(def.metric_spec()),
            Err(e) => {
                let field = match &e {
                    prescale_scalers::Error::UnknownType(_) => "type",
                    _ => "metadata",
                };
                problems.push(Problem::trigger(input.index, field, e.to_string()));
            }
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for s in &specs {
        if let Some(n) = s.external_name() {
            if seen.contains(&n) {
                problems.push(Problem::new(
                    "spec.triggers",
                    format!(
                        "metricName {n} defined multiple times in ScaledObject {}",
                        so.metadata.name.as_deref().unwrap_or_default()
                    ),
                ));
            }
            seen.push(n);
        }
    }
    (problems, specs)
}
