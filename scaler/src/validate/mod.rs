//! ScaledObject checks as the operator makes them at reconcile (spec §1.5), plus the admission
//! webhook's checks that need no cluster. Used by reconcile and by `prescale validate`.
//! Every problem names the field and carries KEDA's message.

pub mod auth;
pub mod bounds;
pub mod limits;
pub mod load;
pub mod metadata;
pub mod report;
pub mod resources;
pub mod scaled_job;

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
    out.extend(bounds::check(spec));
    let min = spec.min_replica_count();
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
    out.extend(fallback_and_modifiers(spec, &names));
    out
}

/// `spec.fallback` and `spec.advanced.scalingModifiers` (webhook checks).
fn fallback_and_modifiers(spec: &crate::api::ScaledObjectSpec, names: &[&str]) -> Vec<Problem> {
    let mut out = Vec::new();
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
            if let Err(e) = Formula::compile(&m.formula, names) {
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

/// What checking the resolved triggers found.
#[derive(Default)]
pub struct TriggerCheck {
    pub problems: Vec<Problem>,
    /// The metric specs of the valid triggers.
    pub specs: Vec<MetricSpec>,
    /// Metadata keys a trigger's type does not read (warnings, or problems with `--strict`).
    pub unknown_keys: Vec<Problem>,
    /// Inline credentials and unusable addresses.
    pub warnings: Vec<String>,
}

/// Parses every resolved trigger with its scaler (offline: nothing is connected), notes the
/// metadata keys its type does not read, and checks that external metric names are unique.
pub fn check_triggers(so: &ScaledObject, inputs: &[TriggerInput]) -> TriggerCheck {
    check_trigger_inputs(
        &format!(
            "ScaledObject {}",
            so.metadata.name.as_deref().unwrap_or_default()
        ),
        inputs,
    )
}

/// [`check_triggers`] for any owner (`ScaledObject x`, `ScaledJob y`), named in messages.
pub fn check_trigger_inputs(owner: &str, inputs: &[TriggerInput]) -> TriggerCheck {
    let mut out = TriggerCheck::default();
    for input in inputs {
        out.warnings.extend(metadata::warnings(input));
        match prescale_scalers::known_keys::parse_noting_keys(input) {
            (Ok(def), known) => {
                out.specs.push(def.metric_spec());
                out.unknown_keys
                    .extend(metadata::unknown_keys(input, &known));
            }
            (Err(e), known) => {
                let field = match &e {
                    prescale_scalers::Error::UnknownType(_) => "type",
                    _ => {
                        out.unknown_keys
                            .extend(metadata::unknown_keys(input, &known));
                        "metadata"
                    }
                };
                out.problems
                    .push(Problem::trigger(input.index, field, e.to_string()));
            }
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for s in &out.specs {
        if let Some(n) = s.external_name() {
            if seen.contains(&n) {
                out.problems.push(Problem::new(
                    "spec.triggers",
                    format!("metricName {n} defined multiple times in {owner}"),
                ));
            }
            seen.push(n);
        }
    }
    out
}
