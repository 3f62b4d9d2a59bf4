//! `prescale explain` on a live (stand-in) cluster, and the HPA actually scaling the target:
//! a Redis ScaledObject served by the operator's HTTPS metrics API behind the stand-in's
//! aggregation layer, the stand-in's HPA controller (the HPA model) reading it through the API
//! server every second and rescaling the Deployment, and `explain` reading the same state
//! through the real kube client to say why the workload has the replicas it has.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_testkit::redis::RedisServer;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use support::aggregation::{ThroughApiServer, metrics_api};
use support::*;

fn setup(api: &ApiServer, redis: &RedisServer) {
    let address = redis.address();
    let (host, port) = address.split_once(':').unwrap();
    api.put(deployment(
        "jobs",
        "worker",
        1,
        json!([{"name": "REDIS_HOST", "value": host}, {"name": "REDIS_PORT", "value": port}]),
    ));
    api.put(json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "worker", "namespace": "jobs"},
        "spec": {
            "scaleTargetRef": {"name": "worker"},
            "pollingInterval": 1, "cooldownPeriod": 300, "minReplicaCount": 1, "maxReplicaCount": 8,
            "triggers": [{"type": "redis", "name": "queue", "metadata": {"hostFromEnv": "REDIS_HOST", "portFromEnv": "REDIS_PORT", "listName": "jobs", "listLength": "5"}}]
        }
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hpa_scales_the_target_and_explain_says_why() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    let options = metrics_api(&api).await;
    setup(&api, &redis);
    let _op = Operator::start_with(&api, None, Some(options));
    let _hpa_controller = api.start_hpa_controller(
        Duration::from_secs(1),
        Arc::new(ThroughApiServer(api.client())),
    );
    eventually(20, "HPA keda-hpa-worker", || {
        hpa(&api, "jobs", "keda-hpa-worker")
    })
    .await;

    // 23 jobs at 5 per replica: the HPA wants ceil(23 / 5) = 5 (from 1 the legacy limit
    // allows up to 4 at once, then 5)
    let jobs: Vec<String> = (0..23).map(|i| format!("job-{i}")).collect();
    let mut push = vec!["RPUSH", "jobs"];
    push.extend(jobs.iter().map(String::as_str));
    redis.cli(&push);
    // the HPA controller scales the target, then writes its status: wait for both
    eventually(30, "the HPA controller scales the Deployment to 5", || {
        (replicas(&api, "jobs", "worker") == 5
            && hpa(&api, "jobs", "keda-hpa-worker")
                .is_some_and(|h| h["status"]["desiredReplicas"] == 5))
        .then_some(())
    })
    .await;
    let h = hpa(&api, "jobs", "keda-hpa-worker").unwrap();
    assert_eq!(h["status"]["desiredReplicas"], 5, "{}", h["status"]);

    let e = prescale::explain::live::explain(&api.client(), "jobs", "worker")
        .await
        .unwrap();
    assert_eq!(e.scaled_object, "jobs/worker");
    assert_eq!(e.hpa_name.as_deref(), Some("keda-hpa-worker"));
    let t = &e.triggers[0];
    assert_eq!(t.metric.as_deref(), Some("s0-redis-jobs"));
    assert_eq!(t.value, Some(23.0));
    assert_eq!(t.target.as_deref(), Some("AverageValue 5"));
    assert_eq!(t.active, Some(true));
    let m = e.model.as_ref().unwrap();
    assert_eq!((m.desired_replicas, m.current_replicas), (5, 5));
    assert_eq!(m.reason, "DesiredWithinRange");
    assert_eq!(m.driving.as_deref(), Some("s0-redis-jobs"));
    assert_eq!(e.hpa_status_desired, Some(5));
    let text = prescale::explain::text(&e);
    assert!(text.contains("HPA model: desired 5 replicas"), "{text}");
    assert!(text.contains("Driving metric: s0-redis-jobs"), "{text}");

    // the queue drains: the model says the stabilisation window holds the replicas
    redis.cli(&["DEL", "jobs"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let e = loop {
        let e = prescale::explain::live::explain(&api.client(), "jobs", "worker")
            .await
            .unwrap();
        if e.triggers[0].value == Some(0.0) {
            break e;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the served value never went to 0"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let m = e.model.as_ref().unwrap();
    // raw 0, but a fresh controller remembers the current 5 as its first recommendation,
    // so the 5-minute down-stabilisation holds them
    assert_eq!(
        (m.raw_recommendation, m.stabilized, m.desired_replicas),
        (Some(0), 5, 5),
        "{:?}",
        m.why
    );
    assert!(
        m.why.iter().any(|w| w.contains("stabilisation holds 5")),
        "{:?}",
        m.why
    );
    assert!(
        e.notes.iter().any(|n| n.contains("in memory")),
        "says what it cannot see: {:?}",
        e.notes
    );
    // a ScaledObject that does not exist is a clear error
    let err = prescale::explain::live::explain(&api.client(), "jobs", "nosuch")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ScaledObject jobs/nosuch"), "{err}");
}
