//! KEDA users' manifests decode unchanged and re-encode without losing a field.

use prescale::api::{ClusterTriggerAuthentication, ScaledObject, TriggerAuthentication};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::path::Path;

fn documents(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keda")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

/// Every key path (with its scalar value) of `v`, for "nothing was lost" comparisons.
fn leaves(v: &Value, prefix: String, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => m
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{prefix}.{}", k.as_str().unwrap_or("?")), out)),
        Value::Sequence(s) => s
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{prefix}[{i}]"), out)),
        Value::Number(n) => out.push(format!("{prefix}={}", n.as_f64().unwrap())),
        other => out.push(format!(
            "{prefix}={}",
            serde_yaml::to_string(other).unwrap().trim()
        )),
    }
}

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(doc: &Value) -> T {
    let typed: T = serde_yaml::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("decode failed: {e}\n{doc:?}"));
    let encoded = serde_yaml::to_value(&typed).unwrap();
    let again: T = serde_yaml::from_value(encoded.clone()).unwrap();
    assert_eq!(typed, again);
    let (mut want, mut got) = (Vec::new(), Vec::new());
    leaves(doc, String::new(), &mut want);
    leaves(&encoded, String::new(), &mut got);
    for leaf in &want {
        assert!(
            got.contains(leaf),
            "lost {leaf} in round trip; got {got:#?}"
        );
    }
    typed
}

fn decode_all(file: &str) -> (Vec<ScaledObject>, usize) {
    let mut sos = Vec::new();
    let mut auths = 0;
    for doc in documents(file) {
        match doc["kind"].as_str() {
            Some("ScaledObject") => sos.push(round_trip::<ScaledObject>(&doc)),
            Some("TriggerAuthentication") => {
                round_trip::<TriggerAuthentication>(&doc);
                auths += 1;
            }
            Some("ClusterTriggerAuthentication") => {
                round_trip::<ClusterTriggerAuthentication>(&doc);
                auths += 1;
            }
            _ => {}
        }
    }
    (sos, auths)
}

#[test]
fn redis_manifests() {
    let (sos, auths) = decode_all("redis-standalone.yaml");
    assert_eq!((sos.len(), auths), (1, 1));
    let so = &sos[0];
    assert_eq!(so.spec.polling_interval(), 5);
    assert_eq!(so.spec.min_replica_count(), 0);
    assert_eq!(so.spec.scale_target_ref.kind(), "Deployment");
    assert_eq!(so.spec.scale_target_ref.api_version(), "apps/v1");
    assert_eq!(so.spec.triggers[0].metadata["hostFromEnv"], "REDIS_HOST");
    assert_eq!(
        so.spec.triggers[0]
            .authentication_ref
            .as_ref()
            .unwrap()
            .name,
        "keda-trigger-auth-redis-secret"
    );
    let (sos, auths) = decode_all("redis-cluster-sentinel.yaml");
    assert_eq!((sos.len(), auths), (2, 1));
    assert_eq!(sos[1].spec.cooldown_period(), 300, "default");
    assert_eq!(sos[1].spec.max_replica_count(), 100, "default");
}

#[test]
fn mysql_prometheus_cron_manifests() {
    let (sos, _) = decode_all("mysql-prometheus-cron.yaml");
    assert_eq!(sos.len(), 3);
    let cron = &sos[2];
    let behavior = cron.spec.hpa_config().unwrap().behavior.as_ref().unwrap();
    assert_eq!(
        behavior
            .scale_down
            .as_ref()
            .unwrap()
            .stabilization_window_seconds,
        Some(15)
    );
}

#[test]
fn advanced_manifests() {
    let (sos, auths) = decode_all("advanced.yaml");
    assert_eq!((sos.len(), auths), (1, 1));
    let so = &sos[0];
    assert_eq!(so.spec.idle_replica_count, Some(0));
    assert_eq!(so.spec.initial_cooldown_period(), 120);
    let fb = so.spec.fallback.as_ref().unwrap();
    assert_eq!((fb.failure_threshold, fb.replicas), (3, 3));
    assert_eq!(
        fb.behavior,
        Some(prescale::api::FallbackBehavior::CurrentReplicasIfHigher)
    );
    assert_eq!(so.spec.scaling_modifiers().unwrap().target, "2");
    assert_eq!(so.spec.scale_target_ref.kind(), "StatefulSet");
    assert!(
        so.spec.triggers[0]
            .authentication_ref
            .as_ref()
            .unwrap()
            .is_cluster()
    );
    assert_eq!(so.spec.triggers[0].use_cached_metrics, Some(true));
    assert_eq!(
        so.spec.triggers[2].metric_type.as_deref(),
        Some("Utilization")
    );
}

#[test]
fn unknown_fallback_behavior_is_rejected() {
    let mut doc = documents("advanced.yaml").remove(0);
    doc["spec"]["fallback"]["behavior"] = Value::from("sometimes");
    assert!(serde_yaml::from_value::<ScaledObject>(doc).is_err());
}
