//! Table tests of the reconcile's pure plan: each row is a ScaledObject (and its resolved
//! triggers) with the exact condition message a check failure must give, or what a valid one
//! asks for.

use super::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn so(spec: Value) -> ScaledObject {
    let mut base = json!({"scaleTargetRef": {"name": "app"}, "triggers": [
        {"type": "redis", "metadata": {"address": "localhost:6379", "listName": "jobs"}}]});
    if let (Some(b), Some(s)) = (base.as_object_mut(), spec.as_object()) {
        for (k, v) in s {
            b.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "app", "namespace": "ns", "generation": 1}, "spec": base}),
    )
    .unwrap()
}

/// The inputs `resolve` would give for the object's triggers (no auth, no env).
fn inputs(so: &ScaledObject) -> Vec<TriggerInput> {
    so.spec
        .triggers
        .iter()
        .enumerate()
        .map(|(index, t)| TriggerInput {
            trigger_type: t.type_.clone(),
            name: t.name.clone().unwrap_or_default(),
            index,
            metric_type: t.metric_type.clone().unwrap_or_default(),
            metadata: t.metadata.clone(),
            auth_params: BTreeMap::new(),
            resolved_env: BTreeMap::new(),
            pod_identity_provider: None,
        })
        .collect()
}

fn check(spec: Value) -> Result<Desired, CheckFailure> {
    let so = so(spec);
    plan(&so, &Pause::default(), &inputs(&so))
}

#[test]
fn every_check_gives_keda_s_message() {
    let redis = |name: &str| {
        json!({"type": "redis", "name": name, "metricType": "AverageValue",
        "metadata": {"address": "localhost:6379", "listName": "jobs", "metricName": "same"}})
    };
    // (what, spec, the Ready=False message starts with)
    let cases = vec![
        (
            "max below min",
            json!({"minReplicaCount": 5, "maxReplicaCount": 2}),
            "ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification: ",
        ),
        (
            "a negative maxReplicaCount (the HPA would get maxReplicas -1)",
            json!({"maxReplicaCount": -1}),
            "ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification: spec.maxReplicaCount: must be at least 1 (got -1)",
        ),
        (
            "a pollingInterval of 0",
            json!({"pollingInterval": 0}),
            "ScaledObject doesn't have a correct specification: spec.pollingInterval: must be at least 1 (got 0)",
        ),
        (
            "a negative cooldownPeriod",
            json!({"cooldownPeriod": -1}),
            "ScaledObject doesn't have a correct specification: spec.cooldownPeriod: must be at least 0 (got -1)",
        ),
        (
            "unknown trigger type",
            json!({"triggers": [{"type": "nope", "metadata": {}}]}),
            "ScaledObject doesn't have correct triggers specification: ",
        ),
        (
            "a trigger's metadata is wrong",
            json!({"triggers": [{"type": "redis", "metadata": {"address": "localhost:6379"}}]}),
            "ScaledObject doesn't have correct triggers specification: trigger 0 (redis): ",
        ),
        (
            "a formula over an unknown trigger",
            json!({"triggers": [redis("a")], "advanced": {"scalingModifiers": {"formula": "b + 1", "target": "2"}}}),
            "ScaledObject doesn't have a correct specification: spec.advanced.scalingModifiers.formula: unknown name b",
        ),
        (
            "a composite target that is not a number",
            json!({"triggers": [redis("a")], "advanced": {"scalingModifiers": {"formula": "a", "target": "x"}}}),
            "ScaledObject doesn't have a correct specification: spec.advanced.scalingModifiers",
        ),
    ];
    for (what, spec, prefix) in cases {
        let msg = match check(spec) {
            Ok(_) => panic!("{what}: passed"),
            Err(f) => f.to_string(),
        };
        assert!(msg.starts_with(prefix), "{what}: {msg}");
    }
}

#[test]
fn the_target_checks_need_only_the_object() {
    let mut bad = so(json!({}));
    bad.spec.scale_target_ref.name.clear();
    assert_eq!(
        precheck(&bad).unwrap_err().to_string(),
        "ScaledObject doesn't have correct scaleTargetRef specification: ScaledObject.spec.scaleTargetRef.name is missing"
    );
    let mut annotated = so(json!({}));
    annotated.metadata.annotations = Some(BTreeMap::from([(
        "autoscaling.keda.sh/paused-replicas".to_string(),
        "many".to_string(),
    )]));
    assert!(
        precheck(&annotated)
            .unwrap_err()
            .to_string()
            .starts_with("failed to read pause annotations: ")
    );
    assert!(precheck(&so(json!({}))).is_ok());
}

#[test]
fn a_valid_object_asks_for_its_hpa_and_loop() {
    let d = check(json!({"minReplicaCount": 1, "maxReplicaCount": 9,
        "fallback": {"failureThreshold": 3, "replicas": 4}}))
    .unwrap();
    assert_eq!(d.hpa.metadata.name.as_deref(), Some("keda-hpa-app"));
    assert_eq!(d.hpa.spec.max_replicas, 9);
    assert_eq!(d.external_names, vec!["s0-redis-jobs".to_string()]);
    assert_eq!(d.stored_metrics(), d.external_names);
    assert_eq!(d.fallback.map(|f| f.replicas), Some(4));
    assert!(d.modifiers.is_none() && d.composite.is_none());
    let mut status = ScaledObjectStatus::default();
    status.health.insert("gone".into(), Default::default());
    summarize(&so(json!({})), &d, &mut status);
    assert_eq!(status.triggers_types.as_deref(), Some("redis"));
    assert_eq!(status.hpa_name.as_deref(), Some("keda-hpa-app"));
    assert!(
        status.health.is_empty(),
        "health of removed metrics is dropped"
    );
}

#[test]
fn the_fingerprint_moves_with_generation_and_secrets_only() {
    let base = so(json!({}));
    let f = |so: &ScaledObject, ins: &[TriggerInput]| {
        plan(so, &Pause::default(), ins).unwrap().fingerprint
    };
    let ins = inputs(&base);
    let same = f(&base, &ins);
    assert_eq!(same, f(&base, &ins));
    let mut rotated = ins.clone();
    rotated[0]
        .auth_params
        .insert("password".into(), "new".into());
    assert_ne!(
        same,
        f(&base, &rotated),
        "a rotated Secret rebuilds the loop"
    );
    let mut next = base.clone();
    next.metadata.generation = Some(2);
    assert_ne!(same, f(&next, &ins));
}

/// The triggers' connections outlive a loop rebuilt for bounds or cooldown; a changed trigger,
/// Secret or env connects them again.
#[test]
fn the_trigger_fingerprint_moves_with_triggers_secrets_and_env_only() {
    let f = |so: &ScaledObject, ins: &[TriggerInput]| {
        plan(so, &Pause::default(), ins)
            .unwrap()
            .trigger_fingerprint
    };
    let base = so(json!({}));
    let ins = inputs(&base);
    let same = f(&base, &ins);
    let mut bounds = so(json!({"minReplicaCount": 2, "cooldownPeriod": 60}));
    bounds.metadata.generation = Some(2);
    assert_eq!(
        same,
        f(&bounds, &inputs(&bounds)),
        "bounds keep the triggers"
    );
    let other = so(json!({"triggers": [
        {"type": "redis", "metadata": {"address": "localhost:6379", "listName": "other"}}]}));
    assert_ne!(
        same,
        f(&other, &inputs(&other)),
        "a changed trigger connects again"
    );
    let mut rotated = ins.clone();
    rotated[0]
        .auth_params
        .insert("password".into(), "new".into());
    assert_ne!(same, f(&base, &rotated), "a rotated Secret connects again");
    let mut env = ins.clone();
    env[0].resolved_env.insert("HOST".into(), "h".into());
    assert_ne!(same, f(&base, &env), "a changed env connects again");
}

#[test]
fn an_invalid_fallback_is_a_spec_error() {
    let Err(e) = check(json!({"fallback": {"failureThreshold": -1, "replicas": 4}})) else {
        panic!("passed")
    };
    assert_eq!(
        e.to_string(),
        "ScaledObject doesn't have a correct specification: spec.fallback: FailureThreshold=-1 & Replicas=4 must both be greater than or equal to 0"
    );
}

#[test]
fn unpausing_reports_once() {
    let mut status = ScaledObjectStatus::default();
    status.set_condition(
        PAUSED,
        "True",
        "ScaledObjectPaused",
        "ScaledObject is paused",
    );
    status.paused_replica_count = Some(2);
    assert!(unpause(&mut status, &Pause::default()));
    assert_eq!(status.condition(PAUSED).unwrap().status, "False");
    assert_eq!(status.paused_replica_count, None);
    assert!(!unpause(&mut status, &Pause::default()));
}

#[test]
fn a_running_loop_keeps_its_verdict_on_ready() {
    // (Ready reason now, the loop keeps running, the reconcile leaves Ready alone)
    let cases = [
        (Some("TriggerError"), true, true),
        (Some("PartialTriggerError"), true, true),
        (Some("ErrorGettingCurrentReplicas"), true, true),
        (Some("TriggerError"), false, false),
        (Some("ScaledObjectCheckFailed"), true, false),
        (Some("ScaledObjectReady"), true, false),
        (None, true, false),
    ];
    for (reason, running, held) in cases {
        let mut status = ScaledObjectStatus::default();
        if let Some(r) = reason {
            status.set_condition(crate::api::conditions::READY, "False", r, "m");
        }
        assert_eq!(
            ready_held_by_loop(&status, running),
            held,
            "{reason:?} {running}"
        );
    }
}
