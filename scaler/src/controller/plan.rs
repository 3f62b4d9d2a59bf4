//! The reconcile's decisions as pure functions: every check a ScaledObject must pass, with
//! KEDA's condition messages ([`CheckFailure`]), and what a valid one asks for ([`Desired`]:
//! the HPA, the trigger definitions to connect, the poll settings and the status summary).
//! `reconcile.rs` only reads what these need and writes what they return.

use crate::api::conditions::PAUSED;
use crate::api::{FallbackBehavior, ScaledObject, ScaledObjectStatus};
use crate::hpa::{self, CompositeTarget};
use crate::poller::PollSpec;
use crate::poller::evaluate::Modifiers;
use crate::scaling::fallback::{Behavior, Fallback};
use crate::scaling::formula::Formula;
use crate::scaling::pause::Pause;
use crate::target::TargetRef;
use crate::trigger::COMPOSITE_METRIC;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use prescale_scalers::{MetricSpec, TriggerDefinition, TriggerInput};
use std::hash::{Hash, Hasher};
use std::time::Duration;

#[cfg(test)]
mod tests;

/// Why a ScaledObject cannot be scaled: the `Ready=False` message is `"{short}: {detail}"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckFailure {
    #[error("failed to read pause annotations: {0}")]
    PauseAnnotations(String),
    #[error("ScaledObject doesn't have correct scaleTargetRef specification: {0}")]
    ScaleTarget(String),
    #[error("ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification: {0}")]
    ReplicaCounts(String),
    #[error("ScaledObject doesn't have a correct specification: {0}")]
    Spec(String),
    #[error("ScaledObject doesn't have correct triggers specification: {0}")]
    Triggers(String),
    #[error("ScaledObject doesn't have correct scalingModifiers specification: {0}")]
    ScalingModifiers(String),
    #[error("failed to ensure HPA is correctly created for ScaledObject: {0}")]
    Hpa(String),
    #[error("failed to scale target to paused replica count: {0}")]
    PausedScale(String),
}

impl CheckFailure {
    /// A trigger's own failure (`trigger 0 (redis): ...`).
    pub fn trigger(input: &TriggerInput, e: impl std::fmt::Display) -> String {
        format!("trigger {} ({}): {e}", input.index, input.trigger_type)
    }
}

/// The checks that need nothing but the object: the pause annotations and the target's name.
pub fn precheck(so: &ScaledObject) -> Result<Pause, CheckFailure> {
    let pause = Pause::from_annotations(kube::ResourceExt::annotations(so))
        .map_err(CheckFailure::PauseAnnotations)?;
    if so.spec.scale_target_ref.name.is_empty() {
        return Err(CheckFailure::ScaleTarget(
            "ScaledObject.spec.scaleTargetRef.name is missing".into(),
        ));
    }
    Ok(pause)
}

/// Ready reasons only the poll loop sets, from what its sources and target answered.
const LOOP_READY_REASONS: &[&str] = &[
    "TriggerError",
    "PartialTriggerError",
    "ErrorGettingCurrentReplicas",
];

/// Whether the reconcile leaves Ready as it is: the object's loop keeps running (same
/// triggers) and Ready holds that loop's verdict on its sources, which only its next poll may
/// change. A new loop starts from Ready=True and its first poll (at once) says again.
pub fn ready_held_by_loop(status: &ScaledObjectStatus, loop_keeps_running: bool) -> bool {
    loop_keeps_running
        && status
            .condition(crate::api::conditions::READY)
            .and_then(|c| c.reason.as_deref())
            .is_some_and(|r| LOOP_READY_REASONS.contains(&r))
}

/// Another live ScaledObject in the namespace that scales the same workload and came first
/// (older, the name breaking ties: `earlier`, from [`TargetIndex::earlier_claim`]): the
/// webhook's rule, which the operator enforces too, so two HPAs never fight over one workload.
///
/// [`TargetIndex::earlier_claim`]: crate::cache::target_index::TargetIndex::earlier_claim
pub fn duplicate_target(
    so: &ScaledObject,
    earlier: Option<&crate::cache::target_index::Claim>,
) -> Result<(), CheckFailure> {
    let t = &so.spec.scale_target_ref;
    match earlier {
        Some(first) => Err(CheckFailure::ScaleTarget(format!(
            "the workload '{}' of type '{}.{}' is already managed by the ScaledObject '{}'",
            t.name,
            t.api_version(),
            t.kind(),
            first.name
        ))),
        None => Ok(()),
    }
}

/// The `Paused` condition when the object is not paused (fully) any more; returns whether the
/// pause annotation was just removed (an Event says so).
pub fn unpause(status: &mut ScaledObjectStatus, pause: &Pause) -> bool {
    if status.condition(PAUSED).is_some_and(|c| c.is_true()) && !pause.any() {
        status.set_condition(
            PAUSED,
            "False",
            "ScaledObjectUnpaused",
            "pause annotation removed for ScaledObject",
        );
        status.paused_replica_count = None;
        return true;
    }
    if pause.any() {
        status.set_condition(
            PAUSED,
            "True",
            "ScaledObjectPaused",
            "ScaledObject is paused",
        );
    }
    false
}

/// One trigger, parsed and ready to connect.
pub struct Definition {
    pub index: usize,
    pub name: String,
    pub trigger_type: String,
    pub definition: Box<dyn TriggerDefinition>,
}

/// What a valid ScaledObject asks for.
pub struct Desired {
    /// The HPA, with the ScaledObject's own bounds (pre-scaling moves them later).
    pub hpa: HorizontalPodAutoscaler,
    pub definitions: Vec<Definition>,
    pub specs: Vec<MetricSpec>,
    /// The external metric names of the triggers, in order.
    pub external_names: Vec<String>,
    pub composite: Option<CompositeTarget>,
    pub modifiers: Option<Modifiers>,
    pub fallback: Option<Fallback>,
    /// Generation, auth parameters and resolved env: a change rebuilds the poll loop (the auth
    /// values enter only a hash, so a rotated Secret rebuilds the loop).
    pub fingerprint: u64,
    /// The triggers' own inputs (their spec, auth parameters and resolved env): while it stays
    /// the same, a rebuilt loop keeps the connected triggers of the one it replaces.
    pub trigger_fingerprint: u64,
}

impl Desired {
    /// Whether a trigger pre-scales (its loop then owns the HPA's bounds).
    pub fn pre_scales(&self) -> bool {
        self.definitions
            .iter()
            .any(|d| prescale_scalers::prescale::TRIGGER_TYPES.contains(&d.trigger_type.as_str()))
    }

    /// The metric names the MetricStore keeps for this object.
    pub fn stored_metrics(&self) -> Vec<String> {
        let mut stored = self.external_names.clone();
        if self.composite.is_some() {
            stored.push(COMPOSITE_METRIC.into());
        }
        stored
    }
}

/// Every offline check of a ScaledObject whose triggers resolved to `inputs`, in KEDA's order,
/// and the HPA and poll settings it asks for.
pub fn plan(
    so: &ScaledObject,
    pause: &Pause,
    inputs: &[TriggerInput],
) -> Result<Desired, CheckFailure> {
    if let Some(p) = crate::validate::check_spec(so).into_iter().next() {
        let detail = format!("{}: {}", p.field, p.message);
        return Err(if p.field.starts_with("spec.triggers") {
            CheckFailure::Triggers(detail)
        } else if p.field.contains("ReplicaCount") {
            CheckFailure::ReplicaCounts(detail)
        } else {
            CheckFailure::Spec(detail)
        });
    }
    let mut fingerprint = std::collections::hash_map::DefaultHasher::new();
    let mut trigger_fingerprint = std::collections::hash_map::DefaultHasher::new();
    so.metadata.generation.hash(&mut fingerprint);
    serde_json::to_string(&so.spec.triggers)
        .unwrap_or_default()
        .hash(&mut trigger_fingerprint);
    let mut definitions = Vec::new();
    for input in inputs {
        input.auth_params.hash(&mut fingerprint);
        input.resolved_env.hash(&mut fingerprint);
        input.auth_params.hash(&mut trigger_fingerprint);
        input.resolved_env.hash(&mut trigger_fingerprint);
        let definition = prescale_scalers::registry::parse(input)
            .map_err(|e| CheckFailure::Triggers(CheckFailure::trigger(input, e)))?;
        definitions.push(Definition {
            index: input.index,
            name: input.name.clone(),
            trigger_type: input.trigger_type.clone(),
            definition,
        });
    }
    let specs: Vec<MetricSpec> = definitions
        .iter()
        .map(|d| d.definition.metric_spec())
        .collect();
    let external_names: Vec<String> = specs
        .iter()
        .filter_map(|s| s.external_name().map(str::to_string))
        .collect();
    if let Some(dup) = first_duplicate(&external_names) {
        let name = so.metadata.name.as_deref().unwrap_or_default();
        return Err(CheckFailure::Triggers(format!(
            "metricName {dup} defined multiple times in ScaledObject {name}"
        )));
    }
    let composite = hpa::composite_target(so)
        .transpose()
        .map_err(CheckFailure::ScalingModifiers)?;
    let modifiers = modifiers(so, composite.as_ref())?;
    Ok(Desired {
        hpa: hpa::build(so, &specs, composite.as_ref(), pause),
        fallback: fallback(so),
        definitions,
        specs,
        external_names,
        composite,
        modifiers,
        fingerprint: fingerprint.finish(),
        trigger_fingerprint: trigger_fingerprint.finish(),
    })
}

fn first_duplicate(names: &[String]) -> Option<&String> {
    names
        .iter()
        .enumerate()
        .find_map(|(i, n)| names[..i].contains(n).then_some(n))
}

/// `scalingModifiers`, compiled against the triggers' names.
fn modifiers(
    so: &ScaledObject,
    composite: Option<&CompositeTarget>,
) -> Result<Option<Modifiers>, CheckFailure> {
    let (Some(c), Some(m)) = (composite, so.spec.scaling_modifiers()) else {
        return Ok(None);
    };
    let names: Vec<&str> = so
        .spec
        .triggers
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    let formula =
        Formula::compile(&m.formula, &names).map_err(|e| CheckFailure::ScalingModifiers(e.0))?;
    Ok(Some(Modifiers {
        formula,
        target: c.target.clone(),
        activation_target: m
            .activation_target
            .as_deref()
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or(0.0),
    }))
}

/// `spec.fallback` when KEDA would maintain it (an invalid one is ignored, as KEDA does).
fn fallback(so: &ScaledObject) -> Option<Fallback> {
    let f = so.spec.fallback.as_ref()?;
    let fb = Fallback {
        failure_threshold: f.failure_threshold,
        replicas: f.replicas,
        behavior: match f.behavior {
            None | Some(FallbackBehavior::Static) => Behavior::Static,
            Some(FallbackBehavior::CurrentReplicas) => Behavior::CurrentReplicas,
            Some(FallbackBehavior::CurrentReplicasIfHigher) => Behavior::CurrentReplicasIfHigher,
            Some(FallbackBehavior::CurrentReplicasIfLower) => Behavior::CurrentReplicasIfLower,
            Some(FallbackBehavior::ScalingModifiers) => Behavior::ScalingModifiers,
        },
    };
    fb.validate(so.spec.scaling_modifiers().map(|m| m.target.as_str()))
        .ok()
        .map(|()| fb)
}

/// The status fields a valid object reports: trigger and authentication types, metric names,
/// the HPA's name, and health only for metrics that still exist.
pub fn summarize(so: &ScaledObject, desired: &Desired, status: &mut ScaledObjectStatus) {
    let mut types: Vec<String> = Vec::new();
    for t in &so.spec.triggers {
        if !types.contains(&t.type_) {
            types.push(t.type_.clone());
        }
    }
    let mut auths: Vec<String> = Vec::new();
    for a in so
        .spec
        .triggers
        .iter()
        .filter_map(|t| t.authentication_ref.as_ref())
    {
        if !auths.contains(&a.name) {
            auths.push(a.name.clone());
        }
    }
    status.triggers_types = Some(types.join(","));
    status.authentications_types = (!auths.is_empty()).then(|| auths.join(","));
    status.external_metric_names = if desired.composite.is_some() {
        Vec::new()
    } else {
        desired.external_names.clone()
    };
    status.resource_metric_names = desired
        .specs
        .iter()
        .filter_map(|s| match s {
            MetricSpec::Resource { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    status.composite_scaler_name = desired
        .composite
        .as_ref()
        .map(|_| COMPOSITE_METRIC.to_string());
    status.hpa_name = desired.hpa.metadata.name.clone();
    status
        .health
        .retain(|k, _| desired.external_names.contains(k) || k == COMPOSITE_METRIC);
}

/// The poll loop's settings for `so` as planned (shared by the reconcile and `simulate`). A
/// ScaledObject without `creationTimestamp` counts as created at `created_default`.
pub fn poll_spec(
    so: &ScaledObject,
    desired: &Desired,
    pause: Pause,
    target: TargetRef,
    hpa: HorizontalPodAutoscaler,
    created_default: chrono::DateTime<chrono::Utc>,
    call_timeout: Duration,
) -> PollSpec {
    PollSpec {
        namespace: so.metadata.namespace.clone().unwrap_or_default(),
        name: so.metadata.name.clone().unwrap_or_default(),
        interval: Duration::from_secs(so.spec.polling_interval().max(1) as u64),
        fallback: desired.fallback,
        modifiers: desired.modifiers.clone(),
        min: so.spec.min_replica_count(),
        max: so.spec.max_replica_count(),
        idle: so.spec.idle_replica_count,
        cooldown_period_s: so.spec.cooldown_period(),
        initial_cooldown_period_s: so.spec.initial_cooldown_period(),
        created: so
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(crate::time::chrono_of)
            .unwrap_or(created_default),
        pause,
        target,
        call_timeout,
        hpa: crate::poller::DesiredHpa::new(&hpa),
    }
}
