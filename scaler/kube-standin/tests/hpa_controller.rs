//! The stand-in's HPA controller through the real kube::Client: an HPA with an External
//! AverageValue metric over a Deployment scales it per its behavior, holds a scale-down for
//! its stabilisation window, writes its status conditions and metrics, does not scale while
//! the metric errors, forgets a re-created HPA's history, and runs on its own until dropped.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use prescale_kube_standin::ApiServer;
use prescale_kube_standin::hpa_controller::{ExternalMetrics, HpaController};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Answer = Result<Vec<i64>, String>;
/// (namespace, metric, selector) of one request.
type Asked = (String, String, BTreeMap<String, String>);

/// A metric source the test sets, remembering what it was asked.
#[derive(Clone, Default)]
struct Metric {
    answer: Arc<Mutex<Option<Answer>>>,
    asked: Arc<Mutex<Vec<Asked>>>,
}

impl Metric {
    fn set(&self, a: Answer) {
        *self.answer.lock().unwrap() = Some(a);
    }

    fn source(&self) -> Arc<dyn ExternalMetrics> {
        let m = self.clone();
        Arc::new(
            move |ns: &str, name: &str, sel: &BTreeMap<String, String>| -> Answer {
                m.asked
                    .lock()
                    .unwrap()
                    .push((ns.into(), name.into(), sel.clone()));
                m.answer
                    .lock()
                    .unwrap()
                    .clone()
                    .unwrap_or(Err("not set".into()))
            },
        )
    }
}

struct Env {
    api: ApiServer,
    deployments: Api<Deployment>,
    hpas: Api<HorizontalPodAutoscaler>,
    metric: Metric,
    controller: HpaController,
}

async fn env() -> Env {
    let api = ApiServer::new();
    let metric = Metric::default();
    Env {
        deployments: Api::namespaced(api.client(), "default"),
        hpas: Api::namespaced(api.client(), "default"),
        controller: api.hpa_controller(metric.source()),
        metric,
        api,
    }
}

impl Env {
    /// A Deployment `name` with `replicas`, and as many Running, Ready pods.
    async fn workload(&self, name: &str, replicas: i32) {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}
        }))
        .unwrap();
        self.deployments
            .create(&PostParams::default(), &d)
            .await
            .unwrap();
        let pods: Api<Pod> = Api::namespaced(self.api.client(), "default");
        for i in 0..replicas {
            let p: Pod = serde_json::from_value(json!({
                "metadata": {"name": format!("{name}-{i}"), "labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
            }))
            .unwrap();
            pods.create(&PostParams::default(), &p).await.unwrap();
        }
    }

    /// KEDA's HPA shape: one External AverageValue metric named `queue`.
    async fn hpa(&self, name: &str, average: &str, behavior: Option<Value>) {
        let mut spec = json!({
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1, "maxReplicas": 20,
            "metrics": [{"type": "External", "external": {
                "metric": {"name": "queue", "selector": {"matchLabels": {"scaledobject.keda.sh/name": name}}},
                "target": {"type": "AverageValue", "averageValue": average}}}]
        });
        if let Some(b) = behavior {
            spec["behavior"] = b;
        }
        let h: HorizontalPodAutoscaler =
            serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap();
        self.hpas.create(&PostParams::default(), &h).await.unwrap();
    }

    async fn sync_at(&self, seconds: i64) {
        self.controller.sync_once(seconds * 1000).await;
    }

    async fn replicas(&self, name: &str) -> i32 {
        let d = self.deployments.get(name).await.unwrap();
        d.spec.replicas.unwrap()
    }

    async fn status(&self, name: &str) -> Value {
        serde_json::to_value(self.hpas.get(name).await.unwrap().status).unwrap()
    }
}

/// (status, reason) of a condition.
fn condition(status: &Value, kind: &str) -> (String, String) {
    let c = status["conditions"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["type"] == kind))
        .unwrap_or_else(|| panic!("no {kind} condition in {status}"));
    (
        c["status"].as_str().unwrap().into(),
        c["reason"].as_str().unwrap().into(),
    )
}

fn pair(status: &str, reason: &str) -> (String, String) {
    (status.into(), reason.into())
}

#[tokio::test]
async fn scales_up_per_behavior_and_writes_status() {
    let e = env().await;
    e.workload("web", 2).await;
    let behavior =
        json!({"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 15}]}});
    e.hpa("web", "5", Some(behavior)).await;
    e.metric.set(Ok(vec![30_000])); // 30 over a target of 5 per pod: 6 wanted
    let rv_before = e.hpas.get("web").await.unwrap().metadata.resource_version;

    e.sync_at(0).await;
    assert_eq!(e.replicas("web").await, 4, "+2 pods per 15 s");
    let asked = e.metric.asked.lock().unwrap().clone();
    let selector = BTreeMap::from([("scaledobject.keda.sh/name".to_string(), "web".to_string())]);
    assert_eq!(asked, vec![("default".into(), "queue".into(), selector)]);
    let s = e.status("web").await;
    assert_eq!(
        (s["currentReplicas"].clone(), s["desiredReplicas"].clone()),
        (json!(2), json!(4))
    );
    assert_eq!(
        condition(&s, "AbleToScale"),
        pair("True", "SucceededRescale")
    );
    assert_eq!(
        condition(&s, "ScalingActive"),
        pair("True", "ValidMetricFound")
    );
    assert_eq!(
        condition(&s, "ScalingLimited"),
        pair("True", "ScaleUpLimit")
    );
    let external = &s["currentMetrics"][0]["external"];
    assert_eq!(
        external["current"]["averageValue"],
        json!("15"),
        "30 over 2 pods"
    );
    assert_eq!(external["metric"]["name"], json!("queue"));
    assert!(s["lastScaleTime"].is_string());
    let rv_after = e.hpas.get("web").await.unwrap().metadata.resource_version;
    assert_ne!(rv_before, rv_after, "a status update watchers see");

    e.sync_at(15).await; // the +2 of t=0 is out of the 15 s period: 4 → 6
    assert_eq!(e.replicas("web").await, 6);
    let s = e.status("web").await;
    assert_eq!(
        condition(&s, "ScalingLimited"),
        pair("False", "DesiredWithinRange")
    );
    assert_eq!(
        s["currentMetrics"][0]["external"]["current"]["averageValue"],
        json!("7500m")
    );

    e.sync_at(30).await; // 30 over 6 pods is on target
    assert_eq!(e.replicas("web").await, 6);
    let s = e.status("web").await;
    assert_eq!(
        condition(&s, "AbleToScale"),
        pair("True", "ReadyForNewScale")
    );
}

#[tokio::test]
async fn scale_down_waits_for_a_short_stabilisation_window() {
    let e = env().await;
    e.workload("web", 6).await;
    e.hpa(
        "web",
        "1",
        Some(json!({"scaleDown": {"stabilizationWindowSeconds": 30}})),
    )
    .await;
    e.metric.set(Ok(vec![1_000])); // 1 replica wanted
    for t in [0, 15] {
        e.sync_at(t).await;
        assert_eq!(
            e.replicas("web").await,
            6,
            "t={t}: the first sync's 6 is in the window"
        );
        let s = e.status("web").await;
        assert_eq!(
            condition(&s, "AbleToScale"),
            pair("True", "ScaleDownStabilized"),
            "t={t}"
        );
        assert_eq!(s["desiredReplicas"], json!(6));
    }
    e.sync_at(30).await; // the record of t=0 is no longer strictly inside the 30 s window
    assert_eq!(e.replicas("web").await, 1);
    assert_eq!(e.status("web").await["desiredReplicas"], json!(1));
}

#[tokio::test]
async fn metric_errors_do_not_scale() {
    let e = env().await;
    e.workload("web", 2).await;
    e.hpa("web", "1", None).await;
    for (t, answer, wording) in [
        (
            0,
            Err("connection refused".to_string()),
            "unable to fetch metrics from external metrics API: connection refused",
        ),
        (
            15,
            Ok(vec![]),
            "no metrics returned from external metrics API",
        ),
    ] {
        e.metric.set(answer);
        e.sync_at(t).await;
        assert_eq!(e.replicas("web").await, 2, "t={t}");
        let s = e.status("web").await;
        assert_eq!(
            condition(&s, "ScalingActive"),
            pair("False", "FailedGetExternalMetric")
        );
        let message = s["conditions"][1]["message"].as_str().unwrap().to_string();
        assert!(message.starts_with("the HPA was unable to compute the replica count: failed to get queue external metric: unable to get external metric default/queue/"), "{message}");
        assert!(message.ends_with(wording), "{message}");
        assert!(s["lastScaleTime"].is_null());
    }
    e.metric.set(Ok(vec![4_000]));
    e.sync_at(30).await;
    assert_eq!(e.replicas("web").await, 4, "scales once the metric is back");
    assert_eq!(
        condition(&e.status("web").await, "ScalingActive"),
        pair("True", "ValidMetricFound")
    );
}

#[tokio::test]
async fn resource_metrics_fail_without_a_metrics_server() {
    let e = env().await;
    e.workload("web", 2).await;
    let h: HorizontalPodAutoscaler = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}}))
    .unwrap();
    e.hpas.create(&PostParams::default(), &h).await.unwrap();
    e.sync_at(0).await;
    let s = e.status("web").await;
    assert_eq!(
        condition(&s, "ScalingActive"),
        pair("False", "FailedGetResourceMetric")
    );
    let message = s["conditions"][1]["message"].as_str().unwrap();
    assert!(message.ends_with("failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"), "{message}");
    assert_eq!(e.replicas("web").await, 2);
}

#[tokio::test]
async fn a_recreated_hpa_starts_a_fresh_history() {
    let e = env().await;
    e.workload("kept", 10).await;
    e.workload("recreated", 10).await;
    e.hpa("kept", "1", None).await;
    e.hpa("recreated", "1", None).await;
    e.metric.set(Ok(vec![10_000])); // on target at 10
    e.sync_at(0).await;
    e.hpas
        .delete("recreated", &DeleteParams::default())
        .await
        .unwrap();
    e.hpa("recreated", "1", None).await;
    e.metric.set(Ok(vec![2_000])); // 2 wanted, 400 s later
    e.sync_at(400).await;
    assert_eq!(
        e.replicas("kept").await,
        2,
        "its record of 10 is older than the 300 s window"
    );
    assert_eq!(
        e.replicas("recreated").await,
        10,
        "a new HPA seeds its current 10 and waits"
    );
}

#[tokio::test]
async fn runs_every_sync_period_until_dropped() {
    let e = env().await;
    e.workload("web", 2).await;
    e.hpa("web", "1", None).await;
    e.metric.set(Ok(vec![4_000]));
    let handle = e
        .api
        .start_hpa_controller(Duration::from_millis(50), e.metric.source());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while e.replicas("web").await != 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the controller never scaled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(handle);
    e.metric.set(Ok(vec![8_000]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        e.replicas("web").await,
        4,
        "a dropped controller does not sync"
    );
}
