//! The external metrics API served by `prescale run`, called over HTTPS as the aggregation
//! layer calls it: front-proxy client certificate (CA from
//! `kube-system/extension-apiserver-authentication`), user headers, SubjectAccessReview against
//! the API stand-in; the served value follows a real Redis list.

mod support;

use prescale::operator::MetricsApiOptions;
use prescale_kube_standin::ApiServer;
use prescale_metrics_adapter::tls::CertSource;
use prescale_testkit::redis::RedisServer;
use serde_json::json;
use std::time::Duration;
use support::aggregation::{HPA_USER, front_proxy, https_client};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_value_follows_the_list_through_https() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    let identity = front_proxy(&api);
    api.set_access(|spec| {
        spec["user"] == HPA_USER && spec["resourceAttributes"]["group"] == "external.metrics.k8s.io"
    });
    for ns in ["jobs", "other"] {
        api.put(deployment(ns, "worker", 1, json!([])));
        api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "worker", "namespace": ns},
            "spec": {"scaleTargetRef": {"name": "worker"}, "pollingInterval": 1, "minReplicaCount": 1,
                     "triggers": [{"type": "redis", "metadata": {"address": redis.address(), "listName": format!("{ns}-queue")}}]}}));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let op = Operator::start_with(
        &api,
        None,
        Some(MetricsApiOptions {
            listener,
            cert: CertSource::SelfSigned {
                names: vec!["localhost".into()],
            },
            authorization: true,
            watch_front_proxy_config: true,
            max_age: None,
            metrics: None,
        }),
    );
    let client = https_client(&identity);
    let url = |ns: &str, metric: &str| {
        format!(
            "https://localhost:{port}/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}?labelSelector=scaledobject.keda.sh%2Fname%3Dworker"
        )
    };
    let get = |u: String, user: &'static str| {
        let c = client.clone();
        async move {
            let res = c
                .get(u)
                .header("X-Remote-User", user)
                .header("X-Remote-Group", "system:serviceaccounts")
                .send()
                .await;
            match res {
                Ok(r) => (
                    r.status().as_u16(),
                    r.json::<serde_json::Value>().await.unwrap_or_default(),
                ),
                Err(_) => (0, serde_json::Value::Null),
            }
        }
    };

    redis.cli(&["RPUSH", "jobs-queue", "1", "2", "3", "4"]);
    // the HPA lower-cases the metric name
    let mut last = (0, serde_json::Value::Null);
    for _ in 0..100 {
        last = get(url("jobs", "s0-redis-jobs-queue"), HPA_USER).await;
        if last.0 == 200 && last.1["items"][0]["value"] == "4" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(last.0, 200, "{}", last.1);
    assert_eq!(last.1["items"][0]["value"], "4");
    assert_eq!(last.1["items"][0]["metricName"], "s0-redis-jobs-queue");
    redis.cli(&["RPUSH", "jobs-queue", "5", "6"]);
    let mut value = String::new();
    for _ in 0..50 {
        let (_, body) = get(url("jobs", "S0-REDIS-JOBS-QUEUE"), HPA_USER).await;
        value = body["items"][0]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if value == "6" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(value, "6", "the served value follows the list");

    // namespace isolation: the other namespace's ScaledObject has its own list
    let (code, body) = get(url("other", "s0-redis-other-queue"), HPA_USER).await;
    assert_eq!((code, body["items"][0]["value"].as_str()), (200, Some("0")));
    let (code, _) = get(url("other", "s0-redis-jobs-queue"), HPA_USER).await;
    assert_eq!(code, 404, "a metric of jobs is never served for other");

    // a user the SubjectAccessReview denies
    let (code, body) = get(
        url("jobs", "s0-redis-jobs-queue"),
        "system:serviceaccount:default:nosy",
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (403, Some("Forbidden")));
    assert!(api.requests("create", "subjectaccessreviews", "") >= 2);

    // the source fails: 500 Status naming the metric, no credential
    let mut redis = redis;
    redis.kill();
    let mut failed = (0, serde_json::Value::Null);
    for _ in 0..50 {
        failed = get(url("jobs", "s0-redis-jobs-queue"), HPA_USER).await;
        if failed.0 == 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(failed.0, 500, "{}", failed.1);
    assert!(
        failed.1["message"]
            .as_str()
            .unwrap()
            .contains("s0-redis-jobs-queue"),
        "{}",
        failed.1
    );
    drop(op);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_are_evaluated_on_demand_when_missing_or_older_than_the_max_age() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    let identity = front_proxy(&api);
    api.put(deployment("jobs", "slow", 1, json!([])));
    // the scheduled polls are ten minutes apart: only on-demand evaluation can keep up; the
    // object is Ready already (as for a restarted operator), so its loop does not poll at once
    // (a new object's first poll writes its Ready) but at its phase: its value is missing
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "slow", "namespace": "jobs"},
        "spec": {"scaleTargetRef": {"name": "slow"}, "pollingInterval": 600, "minReplicaCount": 1,
                 "triggers": [{"type": "redis", "metadata": {"address": redis.address(), "listName": "q"}}]},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "ScaledObjectReady",
                   "message": "ScaledObject is defined correctly and is ready for scaling"}]}}));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _op = Operator::start_with(
        &api,
        None,
        Some(MetricsApiOptions {
            listener,
            cert: CertSource::SelfSigned {
                names: vec!["localhost".into()],
            },
            authorization: false,
            watch_front_proxy_config: true,
            max_age: Some(Duration::from_secs(1)),
            metrics: None,
        }),
    );
    let client = https_client(&identity);
    let url = format!(
        "https://localhost:{port}/apis/external.metrics.k8s.io/v1beta1/namespaces/jobs/s0-redis-q?labelSelector=scaledobject.keda.sh%2Fname%3Dslow"
    );
    let get = || async {
        match client
            .get(&url)
            .header("X-Remote-User", HPA_USER)
            .send()
            .await
        {
            Ok(r) => (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            ),
            Err(_) => (0, serde_json::Value::Null),
        }
    };
    redis.cli(&["RPUSH", "q", "a"]);
    let mut first = (0, serde_json::Value::Null);
    for _ in 0..100 {
        first = get().await;
        if first.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (first.0, first.1["items"][0]["value"].as_str()),
        (200, Some("1")),
        "{}",
        first.1
    );
    redis.cli(&["RPUSH", "q", "b", "c"]);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (code, body) = get().await;
    assert_eq!(
        (code, body["items"][0]["value"].as_str()),
        (200, Some("3")),
        "a stale value is re-evaluated, not served: {body}"
    );
}
