//! Every replica serves the external metrics API: a follower reads the sources itself and
//! answers the HPA (through the aggregation layer) while writing nothing; when the leader
//! stops, the reads never fail and the follower takes over the writes.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_testkit::redis::RedisServer;
use serde_json::json;
use std::time::{Duration, Instant};
use support::aggregation::metrics_api;
use support::*;

/// One read of the metric as the HPA controller makes it (through the API server).
async fn read(api: &ApiServer) -> Result<f64, String> {
    let path = "/apis/external.metrics.k8s.io/v1beta1/namespaces/jobs/s0-redis-q?labelSelector=scaledobject.keda.sh%2Fname%3Dworker";
    let req = http::Request::get(path).body(Vec::new()).unwrap();
    let list: serde_json::Value = api.client().request(req).await.map_err(|e| e.to_string())?;
    let v = list["items"][0]["value"].clone();
    prescale::explain::state::milli(&v, "value").map(|m| m as f64 / 1000.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_serves_the_metrics_api_and_takes_over_without_a_failed_read() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    let address = redis.address();
    let (host, port) = address.split_once(':').unwrap();
    api.put(deployment(
        "jobs",
        "worker",
        1,
        json!([{"name": "REDIS_HOST", "value": host}, {"name": "REDIS_PORT", "value": port}]),
    ));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "worker", "namespace": "jobs"},
        "spec": {"scaleTargetRef": {"name": "worker"}, "pollingInterval": 1, "cooldownPeriod": 1, "minReplicaCount": 0, "maxReplicaCount": 5,
                 "triggers": [{"type": "redis", "metadata": {"hostFromEnv": "REDIS_HOST", "portFromEnv": "REDIS_PORT", "listName": "q", "listLength": "5"}}]}}));
    let lease = Duration::from_secs(2);
    // the leader starts first and has no metrics API; the follower serves it
    let mut leader = Operator::start(&api, Some(("replica-a", lease)));
    let holder = || {
        api.get(
            "coordination.k8s.io/v1",
            "Lease",
            "prescale",
            "prescale-operator",
        )
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
    };
    eventually(10, "replica-a leads", || {
        holder().filter(|h| h == "replica-a")
    })
    .await;
    let options = metrics_api(&api).await;
    let follower = Operator::start_with(&api, Some(("replica-b", lease)), Some(options));
    eventually(20, "HPA", || hpa(&api, "jobs", "keda-hpa-worker")).await;
    eventually(10, "the follower is ready", || {
        follower.handles.readiness.is_ready().then_some(())
    })
    .await;

    redis.cli(&["RPUSH", "q", "a", "b", "c"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while read(&api).await != Ok(3.0) {
        assert!(
            Instant::now() < deadline,
            "the follower never served 3: {:?}",
            read(&api).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        holder().as_deref(),
        Some("replica-a"),
        "served by a follower"
    );

    // the leader goes; reads through the follower go on, every 200 ms for 6 s
    leader.stop().await;
    let (mut failed, mut longest, mut since) = (0, Duration::ZERO, None::<Instant>);
    let end = Instant::now() + Duration::from_secs(6);
    while Instant::now() < end {
        match read(&api).await {
            Ok(v) => {
                assert_eq!(v, 3.0);
                since = None;
            }
            Err(_) => {
                failed += 1;
                let s = *since.get_or_insert_with(Instant::now);
                longest = longest.max(s.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        failed, 0,
        "reads failed for up to {longest:?} during the hand-over"
    );
    eventually(15, "replica-b holds the lease", || {
        holder().filter(|h| h == "replica-b")
    })
    .await;
    // and writes: the queue drains, the new leader deactivates the target
    redis.cli(&["DEL", "q"]);
    eventually(20, "deactivation by the new leader", || {
        (replicas(&api, "jobs", "worker") == 0).then_some(())
    })
    .await;
    // each change once, whichever replica led: deactivated at the start (empty queue) and
    // after the drain, activated once in between
    let all: Vec<String> = api
        .list("events.k8s.io/v1", "Event")
        .iter()
        .map(|e| format!("{} {} {}", e["reportingInstance"], e["reason"], e["note"]))
        .collect();
    assert_eq!(
        events(&api, "worker", "KEDAScaleTargetDeactivated").len(),
        2,
        "{all:#?}"
    );
    assert_eq!(
        events(&api, "worker", "KEDAScaleTargetActivated").len(),
        1,
        "{all:#?}"
    );
}
