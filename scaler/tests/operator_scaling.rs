//! Scaling rules end to end: idle and min counts, initial cooldown, forced activation,
//! paused scale-out, every fallback behavior with a real backend killed mid-test (Redis,
//! MariaDB, Prometheus), scalingModifiers composing two triggers, and a custom kind with /scale.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_testkit::mariadb::MariaDb;
use prescale_testkit::prometheus::PrometheusServer;
use prescale_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::time::Duration;
use support::*;

fn so(ns: &str, name: &str, triggers: Value, extra: Value) -> Value {
    let mut so = json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"scaleTargetRef": {"name": name}, "pollingInterval": 1, "cooldownPeriod": 1, "maxReplicaCount": 10, "triggers": triggers}
    });
    prescale_kube_standin::patch::merge(&mut so, &extra);
    so
}

fn redis_trigger(address: &str) -> Value {
    json!([{"type": "redis", "metadata": {"address": address, "listName": "q", "listLength": "5"}}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_count_min_count_and_initial_cooldown() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("ns", "idle", 3, json!([])));
    api.put(so(
        "ns",
        "idle",
        redis_trigger(&redis.address()),
        json!({"spec": {"idleReplicaCount": 0, "minReplicaCount": 2}}),
    ));
    api.put(deployment("ns", "slow", 1, json!([])));
    api.put(so(
        "ns",
        "slow",
        redis_trigger(&redis.address()),
        json!({"spec": {"minReplicaCount": 0, "initialCooldownPeriod": 10}}),
    ));
    let created = std::time::Instant::now();
    let _op = Operator::start(&api, None);
    // inactive above idle: to idle after the cooldown (never active → from creation)
    eventually(15, "idle at 0", || {
        (replicas(&api, "ns", "idle") == 0).then_some(())
    })
    .await;
    // initialCooldownPeriod (10 s from creation) holds the never-active target meanwhile
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        created.elapsed() < Duration::from_secs(9),
        "the check below must run inside the initial cooldown"
    );
    assert_eq!(
        replicas(&api, "ns", "slow"),
        1,
        "initial cooldown not over yet"
    );
    eventually(20, "slow at 0 after the initial cooldown", || {
        (replicas(&api, "ns", "slow") == 0).then_some(())
    })
    .await;
    assert!(
        created.elapsed() >= Duration::from_secs(9),
        "not before the initial cooldown"
    );
    // activity jumps from idle straight to minReplicaCount
    redis.cli(&["RPUSH", "q", "1"]);
    eventually(15, "idle activation to min 2", || {
        (replicas(&api, "ns", "idle") == 2).then_some(())
    })
    .await;
    let notes = events(&api, "idle", "KEDAScaleTargetActivated");
    assert!(
        notes
            .iter()
            .any(|n| n.ends_with("from 0 to 2, triggered by s0-redis-q")),
        "{notes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_activation_and_paused_scale_out() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("ns", "forced", 0, json!([])));
    api.put(so("ns", "forced", redis_trigger(&redis.address()), json!({"metadata": {"annotations": {"autoscaling.keda.sh/force-activation": "true"}}, "spec": {"minReplicaCount": 0}})));
    api.put(deployment("ns", "held", 0, json!([])));
    api.put(so("ns", "held", redis_trigger(&redis.address()), json!({"metadata": {"annotations": {"autoscaling.keda.sh/paused-scale-out": "true"}}, "spec": {"minReplicaCount": 0}})));
    redis.cli(&["RPUSH", "q", "1"]);
    let _op = Operator::start(&api, None);
    eventually(15, "forced to 1", || {
        (replicas(&api, "ns", "forced") == 1).then_some(())
    })
    .await;
    let h = eventually(15, "held HPA", || hpa(&api, "ns", "keda-hpa-held")).await;
    assert_eq!(h["spec"]["behavior"]["scaleUp"]["selectPolicy"], "Disabled");
    let so = eventually(10, "held Paused", || {
        scaled_object(&api, "ns", "held")
            .filter(|s| condition(s, "Paused").is_some_and(|c| c.0 == "True"))
    })
    .await;
    assert_eq!(condition(&so, "Active").unwrap().0, "True");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        replicas(&api, "ns", "held"),
        0,
        "scale-out paused: no activation"
    );
}

/// Waits for a healthy value of `metric`, kills its backend, and checks the fallback value
/// (AverageValue target × the fallback replica count).
async fn fallback_case(
    op: &Operator,
    name: &str,
    metric: &str,
    kill: impl FnOnce(),
    target: f64,
    want_replicas: f64,
) {
    eventually(20, "healthy value", || {
        op.handles
            .metric_store
            .get("ns", name, metric)
            .filter(|(r, _)| r.value.is_some() && !r.fallback)
    })
    .await;
    kill();
    let (record, _) = eventually(20, "fallback value", || {
        op.handles
            .metric_store
            .get("ns", name, metric)
            .filter(|(r, _)| r.fallback)
    })
    .await;
    assert_eq!(record.value, Some(target * want_replicas), "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fallback_behavior_with_backends_killed() {
    let mut redis = RedisServer::start();
    let mut db = MariaDb::start();
    let mut prom = PrometheusServer::start();
    let api = ApiServer::new();
    // current replicas 4, fallback replicas 3
    for (name, behavior) in [
        ("redis-static", "static"),
        ("redis-current", "currentReplicas"),
        ("redis-higher", "currentReplicasIfHigher"),
        ("redis-lower", "currentReplicasIfLower"),
    ] {
        api.put(deployment("ns", name, 4, json!([])));
        api.put(so("ns", name, redis_trigger(&redis.address()), json!({"spec": {"minReplicaCount": 1, "fallback": {"failureThreshold": 1, "replicas": 3, "behavior": behavior}}})));
    }
    api.put(deployment("ns", "db", 4, json!([])));
    api.put(so("ns", "db", json!([{"type": "mysql", "metadata": {"query": "SELECT 5", "queryValue": "2", "connectionStringFromEnv": "DSN"}}]), json!({"spec": {"minReplicaCount": 1, "fallback": {"failureThreshold": 1, "replicas": 3}}})));
    api.put(deployment(
        "ns",
        "db",
        4,
        json!([{"name": "DSN", "value": db.go_dsn("")}]),
    ));
    api.put(deployment("ns", "prom", 4, json!([])));
    api.put(so("ns", "prom", json!([{"type": "prometheus", "metadata": {"serverAddress": prom.address(), "query": "vector(8)", "threshold": "4"}}]), json!({"spec": {"minReplicaCount": 1, "fallback": {"failureThreshold": 1, "replicas": 6, "behavior": "currentReplicasIfHigher"}}})));
    let op = Operator::start(&api, None);
    for name in [
        "redis-static",
        "redis-current",
        "redis-higher",
        "redis-lower",
    ] {
        eventually(20, "healthy", || {
            op.handles
                .metric_store
                .get("ns", name, "s0-redis-q")
                .filter(|(r, _)| r.value.is_some())
        })
        .await;
    }
    redis.kill();
    for (name, want) in [
        ("redis-static", 3.0),
        ("redis-current", 4.0),
        ("redis-higher", 4.0),
        ("redis-lower", 3.0),
    ] {
        let (record, _) = eventually(20, name, || {
            op.handles
                .metric_store
                .get("ns", name, "s0-redis-q")
                .filter(|(r, _)| r.fallback)
        })
        .await;
        assert_eq!(record.value, Some(5.0 * want), "{name}");
        assert_eq!(
            replicas(&api, "ns", name),
            4,
            "{name}: the target is left to the HPA"
        );
    }
    fallback_case(&op, "db", "s0-mysql-app", || db.kill(), 2.0, 3.0).await;
    fallback_case(&op, "prom", "s0-prometheus", || prom.kill(), 4.0, 6.0).await;
    // Redis back: fallback ends
    redis.restart();
    eventually(20, "recovered", || {
        op.handles
            .metric_store
            .get("ns", "redis-static", "s0-redis-q")
            .filter(|(r, _)| !r.fallback && r.value == Some(0.0))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_modifiers_compose_triggers_into_one_metric() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("ns", "combo", 1, json!([])));
    api.put(so("ns", "combo", json!([
        {"type": "redis", "name": "orders", "metadata": {"address": redis.address(), "listName": "orders"}},
        {"type": "redis", "name": "refunds", "metadata": {"address": redis.address(), "listName": "refunds"}}
    ]), json!({"spec": {"minReplicaCount": 1, "advanced": {"scalingModifiers": {"formula": "orders + 2 * refunds", "target": "10", "activationTarget": "3"}}}})));
    redis.cli(&["RPUSH", "orders", "1", "2", "3"]);
    redis.cli(&["RPUSH", "refunds", "1", "2"]);
    let op = Operator::start(&api, None);
    let h = eventually(20, "HPA", || hpa(&api, "ns", "keda-hpa-combo")).await;
    let metrics = h["spec"]["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 1, "{metrics:?}");
    assert_eq!(metrics[0]["external"]["metric"]["name"], "composite-metric");
    assert_eq!(metrics[0]["external"]["target"]["averageValue"], "10");
    let (record, _) = eventually(20, "composite value", || {
        op.handles
            .metric_store
            .get("ns", "combo", "composite-metric")
            .filter(|(r, _)| r.value.is_some())
    })
    .await;
    assert_eq!(record.value, Some(7.0));
    assert!(record.active, "7 > activation target 3");
    let so = scaled_object(&api, "ns", "combo").unwrap();
    assert_eq!(so["status"]["compositeScalerName"], "composite-metric");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_kind_with_a_scale_subresource() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    api.register(prescale_kube_standin::resources::custom_scalable(
        "example.com",
        "v1",
        "Worker",
        "workers",
    ));
    api.put(json!({"apiVersion": "example.com/v1", "kind": "Worker", "metadata": {"name": "w", "namespace": "ns"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "w"}}}}));
    api.put(so("ns", "w", redis_trigger(&redis.address()), json!({"spec": {"scaleTargetRef": {"apiVersion": "example.com/v1", "kind": "Worker", "name": "w"}, "minReplicaCount": 0}})));
    redis.cli(&["RPUSH", "q", "1"]);
    let _op = Operator::start(&api, None);
    eventually(20, "custom target activated", || {
        api.get("example.com/v1", "Worker", "ns", "w")
            .filter(|w| w["spec"]["replicas"] == 1)
    })
    .await;
    let so = scaled_object(&api, "ns", "w").unwrap();
    assert_eq!(so["status"]["scaleTargetKind"], "example.com/v1.Worker");
    assert_eq!(so["status"]["scaleTargetGVKR"]["resource"], "workers");
    let h = hpa(&api, "ns", "keda-hpa-w").unwrap();
    assert_eq!(
        h["spec"]["scaleTargetRef"],
        json!({"apiVersion": "example.com/v1", "kind": "Worker", "name": "w"})
    );
}
