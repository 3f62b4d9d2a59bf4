//! `prescale run` end to end with a real Redis: a KEDA user's ScaledObject for a Redis list gets
//! the HPA KEDA would create, the Deployment goes 0→1 when the list fills and back to 0 after
//! the cooldown when it drains, and every step shows in status, Events and metrics.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_testkit::redis::{RedisOptions, RedisServer};
use serde_json::json;
use support::*;

fn setup(api: &ApiServer, redis: &RedisServer) {
    let (host, port) = redis
        .address()
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    api.put(deployment(
        "jobs",
        "worker",
        0,
        json!([{"name": "REDIS_HOST", "value": host}, {"name": "REDIS_PORT", "value": port}]),
    ));
    api.put(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "redis-auth", "namespace": "jobs"}, "stringData": {"password": "queue-pass"}}));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "metadata": {"name": "redis-auth", "namespace": "jobs"},
        "spec": {"secretTargetRef": [{"parameter": "password", "name": "redis-auth", "key": "password"}]}}));
    api.put(json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "worker", "namespace": "jobs", "labels": {"team": "jobs"}},
        "spec": {
            "scaleTargetRef": {"name": "worker"},
            "pollingInterval": 1, "cooldownPeriod": 2, "minReplicaCount": 0, "maxReplicaCount": 5,
            // a partial behavior, which the API server stores with its defaults filled in
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}},
            "triggers": [{"type": "redis", "metadata": {"hostFromEnv": "REDIS_HOST", "portFromEnv": "REDIS_PORT", "listName": "jobs:pending", "listLength": "5", "activationListLength": "0"},
                          "authenticationRef": {"name": "redis-auth"}}]
        }
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_list_scales_zero_to_one_and_back_with_status_events_and_metrics() {
    let redis = RedisServer::start_with(RedisOptions {
        password: Some("queue-pass".into()),
        ..Default::default()
    });
    let api = ApiServer::new();
    setup(&api, &redis);
    let mut op = Operator::start(&api, None);

    eventually(10, "ready after the caches synced", || {
        op.handles.readiness.is_ready().then_some(())
    })
    .await;
    // the HPA KEDA would create
    let h = eventually(20, "HPA keda-hpa-worker", || {
        hpa(&api, "jobs", "keda-hpa-worker")
    })
    .await;
    assert_eq!(h["spec"]["minReplicas"], 1);
    assert_eq!(h["spec"]["maxReplicas"], 5);
    assert_eq!(
        h["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"})
    );
    let m = &h["spec"]["metrics"][0];
    assert_eq!(m["external"]["metric"]["name"], "s0-redis-jobs-pending");
    assert_eq!(
        m["external"]["metric"]["selector"]["matchLabels"]["scaledobject.keda.sh/name"],
        "worker"
    );
    assert_eq!(
        m["external"]["target"],
        json!({"type": "AverageValue", "averageValue": "5"})
    );
    assert_eq!(
        h["spec"]["behavior"]["scaleDown"],
        json!({"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
               "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}),
        "stored with the API server's defaults"
    );
    assert_eq!(h["metadata"]["labels"]["team"], "jobs");
    assert_eq!(
        h["metadata"]["labels"]["app.kubernetes.io/part-of"],
        "worker"
    );
    assert_eq!(h["metadata"]["ownerReferences"][0]["kind"], "ScaledObject");
    assert_eq!(h["metadata"]["ownerReferences"][0]["controller"], true);

    let so = eventually(20, "Ready=True", || {
        scaled_object(&api, "jobs", "worker")
            .filter(|so| condition(so, "Ready").is_some_and(|c| c.0 == "True"))
    })
    .await;
    assert_eq!(
        so["status"]["externalMetricNames"],
        json!(["s0-redis-jobs-pending"])
    );
    assert_eq!(so["status"]["hpaName"], "keda-hpa-worker");
    assert_eq!(so["status"]["scaleTargetKind"], "apps/v1.Deployment");
    assert_eq!(so["status"]["originalReplicaCount"], 0);
    assert_eq!(so["status"]["triggersTypes"], "redis");
    assert_eq!(so["status"]["authenticationsTypes"], "redis-auth");
    assert_eq!(so["metadata"]["finalizers"], json!(["finalizer.keda.sh"]));
    assert_eq!(
        so["metadata"]["labels"]["scaledobject.keda.sh/name"],
        "worker"
    );

    // from here on the HPA is up to date: reconciles (triggered by status changes) write none
    let hpa_writes = api.writes("horizontalpodautoscalers");

    // inactive while empty: stays at 0
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(replicas(&api, "jobs", "worker"), 0);

    // the list fills: 0 → 1, Event, Active, stored value for the metrics API
    redis.cli(&["RPUSH", "jobs:pending", "a", "b", "c"]);
    eventually(10, "activation to 1", || {
        (replicas(&api, "jobs", "worker") == 1).then_some(())
    })
    .await;
    let notes = eventually(5, "activation event", || {
        Some(events(&api, "worker", "KEDAScaleTargetActivated")).filter(|e| !e.is_empty())
    })
    .await;
    assert_eq!(
        notes[0],
        "Scaled apps/v1.Deployment jobs/worker from 0 to 1, triggered by s0-redis-jobs-pending"
    );
    let so = eventually(5, "Active=True", || {
        scaled_object(&api, "jobs", "worker")
            .filter(|so| condition(so, "Active").is_some_and(|c| c.0 == "True"))
    })
    .await;
    assert!(so["status"]["lastActiveTime"].is_string());
    let (record, _) = op
        .handles
        .metric_store
        .get("jobs", "worker", "s0-redis-jobs-pending")
        .expect("stored metric");
    assert_eq!(record.value, Some(3.0));
    assert!(op.metrics_text().contains("prescale_scaler_metrics_value{namespace=\"jobs\",scaled_object=\"worker\",scaler=\"redis\",trigger_index=\"0\",metric=\"s0-redis-jobs-pending\"} 3.0"), "{}", op.metrics_text());

    // drained: back to 0 after the cooldown
    redis.cli(&["DEL", "jobs:pending"]);
    eventually(15, "deactivation to 0", || {
        (replicas(&api, "jobs", "worker") == 0).then_some(())
    })
    .await;
    let notes = events(&api, "worker", "KEDAScaleTargetDeactivated");
    assert_eq!(
        notes[0],
        "Deactivated apps/v1.Deployment jobs/worker from 1 to 0"
    );
    assert_eq!(
        api.writes("horizontalpodautoscalers"),
        hpa_writes,
        "an unchanged HPA (its defaulted behavior included) is never written again"
    );
    op.stop().await;
}

/// Issue 11: a new ScaledObject becomes Ready with its first poll's status (Active,
/// `triggersActivity`, `lastActiveTime`) in ONE status write; the reconcile hands its status
/// to the new poll loop, whose first poll runs at once (not at its phase within the 30 s
/// interval) and writes both. Its Events are published once each, as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_object_is_ready_and_active_after_one_status_write() {
    let redis = RedisServer::start_with(RedisOptions {
        password: Some("queue-pass".into()),
        ..Default::default()
    });
    redis.cli(&["RPUSH", "jobs:pending", "a", "b", "c"]);
    let api = ApiServer::new();
    setup(&api, &redis);
    let mut so = scaled_object(&api, "jobs", "worker").unwrap();
    so["spec"]["pollingInterval"] = json!(30);
    so["spec"]["cooldownPeriod"] = json!(300);
    api.put(so);
    let mut op = Operator::start(&api, None);

    let so = eventually(40, "Ready=True with Active set by a poll", || {
        scaled_object(&api, "jobs", "worker").filter(|so| {
            condition(so, "Ready").is_some_and(|c| c.0 == "True")
                && condition(so, "Active").is_some_and(|c| c.0 != "Unknown")
        })
    })
    .await;
    assert_eq!(
        api.requests("patch", "scaledobjects", "status"),
        1,
        "Ready and the first poll's status in one write: {so}"
    );
    assert_eq!(
        api.writes("scaledobjects"),
        2,
        "besides the status: one patch for the finalizer and the name label"
    );
    assert_eq!(condition(&so, "Active").unwrap().0, "True");
    assert!(so["status"]["lastActiveTime"].is_string(), "{so}");
    assert!(so["status"]["triggersActivity"].is_object(), "{so}");
    // the reconcile's part of the status is in the same write
    assert_eq!(so["status"]["hpaName"], "keda-hpa-worker");
    assert_eq!(so["status"]["originalReplicaCount"], 0);
    assert_eq!(so["status"]["triggersTypes"], "redis");
    assert_eq!(so["metadata"]["finalizers"], json!(["finalizer.keda.sh"]));
    eventually(10, "activation to 1", || {
        (replicas(&api, "jobs", "worker") == 1).then_some(())
    })
    .await;
    // the reconciles the status write triggers find nothing to write, and Events came once
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(api.requests("patch", "scaledobjects", "status"), 1);
    assert_eq!(events(&api, "worker", "ScaledObjectReady").len(), 1);
    assert_eq!(events(&api, "worker", "KEDAScalersStarted").len(), 1);
    assert_eq!(events(&api, "worker", "KEDAScaleTargetActivated").len(), 1);
    op.stop().await;
}
