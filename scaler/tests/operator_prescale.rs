//! Exact floors (issue #5, first part): a `schedule` window raises the HPA's `minReplicas` to its
//! count from `start − leadTime` and restores it after, with the PreScaling condition and Events.

mod support;

use chrono::{Duration as Seconds, DurationRound, Utc};
use prescale_kube_standin::ApiServer;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_raises_min_replicas_exactly_and_restores_it() {
    let api = ApiServer::new();
    let now = Utc::now().duration_trunc(Seconds::seconds(1)).unwrap();
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    // starts in 20 s, already in force through the 30 s lead time; ends 15 s later
    let start = now + Seconds::seconds(20);
    let end = start + Seconds::seconds(15);
    let window = format!("{}/{}=7", fmt(start), fmt(end));
    api.put(deployment("shop", "checkout", 0, json!([])));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"name": "checkout"}, "pollingInterval": 1, "minReplicaCount": 0, "maxReplicaCount": 20,
                 "triggers": [{"type": "schedule", "metadata": {"timezone": "Etc/UTC", "leadTime": "30s", "windows": window}}]}}));
    let _op = Operator::start(&api, None);
    // from zero: activation goes straight to the floor, and the HPA holds it as minReplicas
    eventually(20, "target at the floor", || {
        (replicas(&api, "shop", "checkout") == 7).then_some(())
    })
    .await;
    let h = eventually(20, "HPA minReplicas 7", || {
        hpa(&api, "shop", "keda-hpa-checkout").filter(|h| h["spec"]["minReplicas"] == 7)
    })
    .await;
    assert_eq!(h["spec"]["maxReplicas"], 20);
    let so = eventually(10, "PreScaling=True", || {
        scaled_object(&api, "shop", "checkout")
            .filter(|s| condition(s, "PreScaling").is_some_and(|c| c.0 == "True"))
    })
    .await;
    assert_eq!(
        condition(&so, "PreScaling").unwrap().2,
        format!("minReplicas raised from 1 to 7 by {window}; leadTime 30s")
    );
    // the plan in status: the floor goes back to 1 at the window's end
    let ps = &so["status"]["preScaling"];
    assert_eq!(ps["minReplicas"], 7, "{ps}");
    assert_eq!(ps["maxReplicas"], 20);
    assert_eq!(ps["leadTimes"][0]["source"], "leadTime 30s");
    assert_eq!(ps["nextChanges"][0]["minReplicas"], 1, "{ps}");
    assert_eq!(
        ps["nextChanges"][0]["time"],
        end.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    assert!(!events(&api, "checkout", "PreScalingFloorRaised").is_empty());
    // after the window the floor goes back to the ScaledObject's own minimum
    let wait = (end - Utc::now()).num_seconds().max(0) as u64 + 20;
    eventually(wait, "HPA minReplicas restored", || {
        hpa(&api, "shop", "keda-hpa-checkout").filter(|h| h["spec"]["minReplicas"] == 1)
    })
    .await;
    assert!(!events(&api, "checkout", "PreScalingFloorRestored").is_empty());
    let so = scaled_object(&api, "shop", "checkout").unwrap();
    let c = condition(&so, "PreScaling");
    assert!(c.as_ref().is_some_and(|c| c.0 == "False"), "{c:?}");
}
