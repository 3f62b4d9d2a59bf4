//! The hand-over of docs/migrating-from-keda.md, replayed on the API stand-in: ScaledObjects
//! and their HPAs exactly as KEDA's operator left them (KEDA's labels with KEDA's version, the
//! controller owner reference, `finalizer.keda.sh`, KEDA's status and conditions) stay in
//! place; Prescale starts as a follower, takes the APIService over, then takes the Lease and
//! adopts them, and
//! - writes no HPA that already matches what it would create (counted in the stand-in's
//!   request log and by the HPA's generation), and no `/scale` of a workload whose
//!   replicas are right;
//! - rewrites the one HPA that no longer matches its ScaledObject (edited while KEDA was down);
//! - takes the status over: keeps KEDA's `originalReplicaCount`, writes its own conditions and
//!   `lastActiveTime`;
//! - before that, while a hand-over Lease keeps it a follower, already serves the HPA's
//!   metric through the APIService (so the HPA controller keeps scaling) and writes nothing;
//! - no read of the metric through the API server fails from the first answer to the end.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::aggregation::{ThroughApiServer, metrics_api};
use support::*;

/// A KEDA release's version label, as KEDA writes it on its HPAs.
const KEDA_VERSION: &str = "2.16.1";
const KEDA_ACTIVE_AT: &str = "2026-12-01T10:00:00Z";

/// A ScaledObject as KEDA leaves it: its own label and finalizer, and its status.
fn keda_scaled_object(api: &ApiServer, name: &str, max: i64, original: i64) -> Value {
    api.put(json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": "jobs",
                     "labels": {"scaledobject.keda.sh/name": name, "team": "queue"},
                     "finalizers": ["finalizer.keda.sh"]},
        "spec": {
            "scaleTargetRef": {"name": name},
            "pollingInterval": 1, "minReplicaCount": 1, "maxReplicaCount": max,
            "triggers": [{"type": "redis", "metadata": {"hostFromEnv": "REDIS_HOST", "portFromEnv": "REDIS_PORT", "listName": "jobs", "listLength": "5"}}]
        },
        "status": {
            "scaleTargetKind": "apps/v1.Deployment",
            "scaleTargetGVKR": {"group": "apps", "version": "v1", "kind": "Deployment", "resource": "deployments"},
            "originalReplicaCount": original,
            "lastActiveTime": KEDA_ACTIVE_AT,
            "externalMetricNames": ["s0-redis-jobs"],
            "hpaName": format!("keda-hpa-{name}"),
            "health": {"s0-redis-jobs": {"numberOfFailures": 0, "status": "Happy"}},
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "ScaledObjectReady", "message": "ScaledObject is defined correctly and is ready for scaling"},
                {"type": "Active", "status": "True", "reason": "ScalerActive", "message": "Scaling is performed because triggers are active"},
                {"type": "Fallback", "status": "False", "reason": "NoFallbackFound", "message": "No fallbacks are defined"},
                {"type": "Paused", "status": "False", "reason": "ScaledObjectUnpaused", "message": "pause annotation removed for ScaledObject"}
            ]
        }
    }))
}

/// The HPA KEDA's `newHPAForScaledObject` writes for `so` (controllers/keda/hpa.go): the SO's
/// labels plus name/version/part-of/managed-by, the SO's annotations, a controller owner
/// reference, the external metric with the `scaledobject.keda.sh/name` selector.
fn keda_hpa(api: &ApiServer, so: &Value, max: i64) -> Value {
    let name = so["metadata"]["name"].as_str().unwrap();
    api.put(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": format!("keda-hpa-{name}"), "namespace": "jobs",
            "labels": {
                "app.kubernetes.io/name": format!("keda-hpa-{name}"),
                "app.kubernetes.io/version": KEDA_VERSION,
                "app.kubernetes.io/part-of": name,
                "app.kubernetes.io/managed-by": "keda-operator",
                "scaledobject.keda.sh/name": name,
                "team": "queue"
            },
            "ownerReferences": [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": name,
                                 "uid": so["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1, "maxReplicas": max,
            "metrics": [{"type": "External", "external": {
                "metric": {"name": "s0-redis-jobs", "selector": {"matchLabels": {"scaledobject.keda.sh/name": name}}},
                "target": {"type": "AverageValue", "averageValue": "5"}}}]
        },
        "status": {"currentReplicas": 2, "desiredReplicas": 2}
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prescale_adopts_keda_objects_without_rewriting_matching_hpas() {
    let redis = RedisServer::start();
    redis.cli(&["RPUSH", "jobs", "1", "2", "3", "4", "5", "6", "7"]);
    let api = ApiServer::new();
    let address = redis.address();
    let (host, port) = address.split_once(':').unwrap();
    let env = json!([{"name": "REDIS_HOST", "value": host}, {"name": "REDIS_PORT", "value": port}]);
    // KEDA's state: both workloads at 2 (7 jobs at 5 per replica)
    api.put(deployment("jobs", "worker", 2, env.clone()));
    api.put(deployment("jobs", "reports", 2, env));
    let worker = keda_scaled_object(&api, "worker", 10, 3);
    let worker_hpa = keda_hpa(&api, &worker, 10);
    // edited while KEDA was down: maxReplicaCount 20, its HPA still says 10
    let reports = keda_scaled_object(&api, "reports", 20, 2);
    keda_hpa(&api, &reports, 10);
    let (hpa_writes, scale_writes) = (
        api.writes("horizontalpodautoscalers"),
        api.writes("deployments"),
    );

    // 1. a Lease held for the hand-over keeps every Prescale replica a follower: they poll
    //    and serve the metrics API, and write nothing while KEDA's operator still runs
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    api.put(
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "prescale-operator", "namespace": "prescale"},
        "spec": {"holderIdentity": "keda-handover", "leaseDurationSeconds": 3600,
                 "acquireTime": now, "renewTime": now}}),
    );
    let options = metrics_api(&api).await;
    api.set_access(|_| true);
    let _op = Operator::start_with(
        &api,
        Some(("prescale-0", Duration::from_secs(2))),
        Some(options),
    );
    // 2. the APIService points at Prescale (`metrics_api` registered it): the HPA controller
    //    reads the same metric names from Prescale without a gap
    let _hpa_controller = api.start_hpa_controller(
        Duration::from_secs(1),
        Arc::new(ThroughApiServer(api.client())),
    );
    // the HPA's reads, every 200 ms from here to the end: none may fail once one succeeded
    let reads = Arc::new(std::sync::Mutex::new((0u32, Vec::<String>::new())));
    let reader = {
        let (client, reads) = (api.client(), reads.clone());
        tokio::spawn(async move {
            use prescale_kube_standin::hpa_controller::ExternalMetrics;
            let selector = std::collections::BTreeMap::from([(
                "scaledobject.keda.sh/name".to_string(),
                "worker".to_string(),
            )]);
            loop {
                let r = ThroughApiServer(client.clone())
                    .get("jobs", "s0-redis-jobs", &selector)
                    .await;
                {
                    let mut g = reads.lock().unwrap();
                    match r {
                        Ok(v) if v == [7000] => g.0 += 1,
                        other if g.0 > 0 => g.1.push(format!("{other:?}")),
                        _ => {}
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let h = eventually(
        20,
        "the HPA controller reads s0-redis-jobs = 7 from a follower",
        || {
            hpa(&api, "jobs", "keda-hpa-worker").filter(|h| {
                h["status"]["currentMetrics"][0]["external"]["current"]["averageValue"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("3500m") || v == "3.5")
            })
        },
    )
    .await;
    assert_eq!(h["status"]["desiredReplicas"], 2, "{}", h["status"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    for plural in [
        "scaledobjects",
        "horizontalpodautoscalers",
        "deployments",
        "events",
    ] {
        assert_eq!(api.writes(plural), 0, "a follower wrote {plural}");
    }
    assert_eq!(
        scaled_object(&api, "jobs", "worker").unwrap()["status"]["lastActiveTime"],
        KEDA_ACTIVE_AT
    );

    // 3. KEDA's operator is gone (scaled to 0); 4. the hand-over Lease is deleted: a Prescale
    //    replica takes it and adopts the ScaledObjects
    api.delete(
        "coordination.k8s.io/v1",
        "Lease",
        "prescale",
        "prescale-operator",
    );

    // both are reconciled and polled: Prescale's poll wrote lastActiveTime on each
    for name in ["worker", "reports"] {
        eventually(20, &format!("{name} polled by Prescale"), || {
            scaled_object(&api, "jobs", name)
                .filter(|so| {
                    so["status"]["lastActiveTime"]
                        .as_str()
                        .is_some_and(|t| t != KEDA_ACTIVE_AT)
                })
                .map(|_| ())
        })
        .await;
    }
    eventually(10, "reports' HPA takes maxReplicaCount 20", || {
        hpa(&api, "jobs", "keda-hpa-reports").filter(|h| h["spec"]["maxReplicas"] == 20)
    })
    .await;
    // a few more polls and reconciles, then count
    tokio::time::sleep(Duration::from_secs(3)).await;

    let worker_now = hpa(&api, "jobs", "keda-hpa-worker").unwrap();
    // the HPA controller writes status through /status; no spec write touched it
    assert_eq!(
        worker_now["metadata"]["labels"]["app.kubernetes.io/version"], KEDA_VERSION,
        "the matching HPA was rewritten: {}",
        worker_now["metadata"]
    );
    assert_eq!(worker_now["spec"], worker_hpa["spec"]);
    let spec_writes = api.requests("patch", "horizontalpodautoscalers", "")
        + api.requests("update", "horizontalpodautoscalers", "")
        + api.requests("create", "horizontalpodautoscalers", "");
    assert_eq!(
        spec_writes,
        1,
        "only reports' HPA is applied (HPA writes before: {hpa_writes}, all now: {})",
        api.writes("horizontalpodautoscalers")
    );
    assert_eq!(
        api.writes("deployments"),
        scale_writes,
        "no workload was scaled"
    );
    assert_eq!(replicas(&api, "jobs", "worker"), 2);
    assert_eq!(replicas(&api, "jobs", "reports"), 2);
    // the stand-in's HPA controller writes the status (moving resourceVersion); a spec write
    // would have moved the generation
    assert_eq!(
        worker_now["metadata"]["generation"],
        worker_hpa["metadata"]["generation"]
    );

    reader.abort();
    let (ok, failed) = reads.lock().unwrap().clone();
    assert!(ok >= 20, "{ok} reads");
    assert!(
        failed.is_empty(),
        "metric reads failed during the hand-over: {failed:?}"
    );

    // the status is Prescale's now, with KEDA's memory kept
    let so = scaled_object(&api, "jobs", "worker").unwrap();
    assert_eq!(so["status"]["originalReplicaCount"], 3, "{}", so["status"]);
    assert_eq!(so["status"]["hpaName"], "keda-hpa-worker");
    assert_eq!(
        so["status"]["externalMetricNames"],
        json!(["s0-redis-jobs"])
    );
    let ready = condition(&so, "Ready").unwrap();
    assert_eq!(ready.0, "True", "{ready:?}");
    let active = condition(&so, "Active").unwrap();
    assert_eq!(active.0, "True", "{active:?}");
    assert_eq!(
        so["metadata"]["finalizers"],
        json!(["finalizer.keda.sh"]),
        "KEDA's finalizer is Prescale's: nothing added"
    );
}
