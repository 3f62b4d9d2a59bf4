//! No secret leaves the operator. Unique marker values are seeded as a Redis password (right
//! and wrong), a Prometheus basic-auth password (wrong), a MySQL DSN password (wrong), a
//! `metrics-api` key sent in the query string (refused) and a secret-sourced parameter that
//! does not parse; the operator runs with every log level on
//! (its own and its libraries': kube, hyper, reqwest, redis, mysql_async) and the test then
//! searches for the markers in the logs, Events, ScaledObject and ScaledJob status, Jobs, HPAs, the operator's
//! metrics, the metrics API's answers and error bodies, and `prescale validate` output (text
//! and JSON) of the same manifests, and the admission webhook's answers for them.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_testkit::mariadb::MariaDb;
use prescale_testkit::prometheus::{PrometheusOptions, PrometheusServer};
use prescale_testkit::redis::{RedisOptions, RedisServer};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::aggregation::metrics_api;
use support::*;

/// Every log line of the process, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn marker(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("mk{what}{}x{nanos}", std::process::id())
}

struct Markers {
    redis_right: String,
    redis_wrong: String,
    prometheus: String,
    mysql: String,
    address: String,
    api_key: String,
}

fn secret(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "shop"}, "stringData": data})
}

fn auth(name: &str, params: &[(&str, &str)]) -> Value {
    let refs: Vec<Value> = params
        .iter()
        .map(|(p, k)| json!({"parameter": p, "name": name, "key": k}))
        .collect();
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
           "metadata": {"name": name, "namespace": "shop"}, "spec": {"secretTargetRef": refs}})
}

fn so(name: &str, trigger: Value) -> Value {
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
           "metadata": {"name": name, "namespace": "shop"},
           "spec": {"scaleTargetRef": {"name": name}, "pollingInterval": 1, "minReplicaCount": 1, "maxReplicaCount": 5,
                    "triggers": [trigger]}})
}

fn sj(name: &str, trigger: Value) -> Value {
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob",
           "metadata": {"name": name, "namespace": "shop"},
           "spec": {"jobTargetRef": {"template": {"spec": {"containers": [{"name": "w", "image": "w:1"}]}}},
                    "pollingInterval": 1, "maxReplicaCount": 2, "triggers": [trigger]}})
}

/// The manifests: five ScaledObjects, each with its Deployment, Secret and TriggerAuthentication,
/// and three ScaledJobs using the same authentications (right, wrong password, bad address).
fn manifests(m: &Markers, redis: &str, prometheus: &str, mysql_port: u16) -> Vec<Value> {
    let (rhost, rport) = redis.split_once(':').unwrap();
    let redis_trigger = |auth_name: &str| {
        json!({"type": "redis", "metadata": {"host": rhost, "port": rport, "listName": "jobs", "listLength": "5"},
               "authenticationRef": {"name": auth_name}})
    };
    let mut out = vec![
        secret("redis-right", json!({"password": m.redis_right})),
        auth("redis-right", &[("password", "password")]),
        so("right", redis_trigger("redis-right")),
        secret("redis-wrong", json!({"password": m.redis_wrong})),
        auth("redis-wrong", &[("password", "password")]),
        so("wrong", redis_trigger("redis-wrong")),
        secret(
            "prom",
            json!({"username": "reader", "password": m.prometheus}),
        ),
        auth(
            "prom",
            &[("username", "username"), ("password", "password")],
        ),
        so(
            "prom",
            json!({"type": "prometheus", "metadata": {"serverAddress": prometheus, "query": "jobs", "threshold": "1", "authModes": "basic"},
                          "authenticationRef": {"name": "prom"}}),
        ),
        secret(
            "db",
            json!({"dsn": format!("scaler:{}@tcp(127.0.0.1:{mysql_port})/app", m.mysql)}),
        ),
        auth("db", &[("connectionString", "dsn")]),
        so(
            "db",
            json!({"type": "mysql", "metadata": {"query": "SELECT 1", "queryValue": "1"}, "authenticationRef": {"name": "db"}}),
        ),
        // metrics-api with the key in the query string, against a server that answers 401
        secret("api", json!({"apiKey": m.api_key})),
        auth("api", &[("apiKey", "apiKey")]),
        so(
            "api",
            json!({"type": "metrics-api", "metadata": {"url": format!("{prometheus}/metrics"), "format": "prometheus",
                          "valueLocation": "up", "targetValue": "1", "authMode": "apiKey", "method": "query"},
                   "authenticationRef": {"name": "api"}}),
        ),
        secret("addr", json!({"address": m.address})),
        auth("addr", &[("address", "address")]),
        so(
            "addr",
            json!({"type": "redis", "metadata": {"listName": "jobs", "listLength": "5"}, "authenticationRef": {"name": "addr"}}),
        ),
    ];
    for name in ["right", "wrong", "prom", "db", "addr", "api"] {
        out.push(deployment("shop", name, 1, json!([])));
    }
    out.push(sj("job-right", redis_trigger("redis-right")));
    out.push(sj("job-wrong", redis_trigger("redis-wrong")));
    out.push(sj(
        "job-addr",
        json!({"type": "redis", "metadata": {"listName": "jobs", "listLength": "5"}, "authenticationRef": {"name": "addr"}}),
    ));
    out
}

fn leaks(what: &str, text: &str, m: &Markers) -> Vec<String> {
    [
        &m.redis_right,
        &m.redis_wrong,
        &m.prometheus,
        &m.mysql,
        &m.address,
        &m.api_key,
    ]
    .iter()
    .filter(|k| text.contains(k.as_str()))
    .map(|k| format!("{what} contains the marker {k}"))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_marker_secret_appears_anywhere() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(
            "trace,h2=debug,hyper=debug,rustls=debug,tower=debug,tokio=debug,runtime=debug",
        )
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let m = Markers {
        redis_right: marker("redis"),
        redis_wrong: marker("wrongredis"),
        prometheus: marker("prom"),
        mysql: marker("mysql"),
        address: format!("{}:notaport", marker("addr")),
        api_key: marker("apikey"),
    };
    let redis = RedisServer::start_with(RedisOptions {
        password: Some(m.redis_right.clone()),
        ..Default::default()
    });
    redis.cli(&["RPUSH", "jobs", "a", "b"]);
    let prom = PrometheusServer::start_with(PrometheusOptions {
        basic_auth: Some(("reader".into(), "the-real-password".into())),
        ..Default::default()
    });
    let db = MariaDb::start();
    let api = ApiServer::new();
    let options = metrics_api(&api).await;
    let docs = manifests(&m, &redis.address(), &prom.address(), db.port);
    for d in &docs {
        api.put(d.clone());
    }
    let op = Operator::start_with(&api, None, Some(options));
    // the good one works, each bad one reports its failure
    eventually(30, "HPA for the working ScaledObject", || {
        hpa(&api, "shop", "keda-hpa-right")
    })
    .await;
    for name in ["wrong", "prom", "db", "addr", "api"] {
        eventually(60, &format!("{name} reports its failure"), || {
            let so = scaled_object(&api, "shop", name)?;
            let c = condition(&so, "Ready")?;
            (c.0 == "False" || c.0 == "Unknown").then_some(())
        })
        .await;
    }
    // ScaledJobs: the right one makes Jobs, the others report their failure
    eventually(30, "Jobs of the working ScaledJob", || {
        (!api.list("batch/v1", "Job").is_empty()).then_some(())
    })
    .await;
    for name in ["job-wrong", "job-addr"] {
        eventually(60, &format!("{name} reports its failure"), || {
            let sj = api.get("keda.sh/v1alpha1", "ScaledJob", "shop", name)?;
            let c = condition(&sj, "Ready")?;
            (c.0 == "False" || c.0 == "Unknown").then_some(())
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut found = Vec::new();
    // the metrics API, as the HPA reads it, for every metric of every ScaledObject
    for name in ["right", "wrong", "prom", "db", "addr", "api"] {
        let so = scaled_object(&api, "shop", name).unwrap();
        for metric in so["status"]["externalMetricNames"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let path = format!(
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/{}?labelSelector=scaledobject.keda.sh%2Fname%3D{name}",
                metric.as_str().unwrap()
            );
            let req = http::Request::get(path).body(Vec::new()).unwrap();
            let body = match api.client().request_text(req).await {
                Ok(t) => t,
                Err(e) => e.to_string(),
            };
            found.extend(leaks(&format!("metrics API answer for {name}"), &body, &m));
        }
    }
    for (what, text) in [
        (
            "ScaledObjects",
            json!(api.list("keda.sh/v1alpha1", "ScaledObject")).to_string(),
        ),
        (
            "Events",
            json!(api.list("events.k8s.io/v1", "Event")).to_string(),
        ),
        (
            "HPAs",
            json!(api.list("autoscaling/v2", "HorizontalPodAutoscaler")).to_string(),
        ),
        (
            "ScaledJobs",
            json!(api.list("keda.sh/v1alpha1", "ScaledJob")).to_string(),
        ),
        ("Jobs", json!(api.list("batch/v1", "Job")).to_string()),
        ("operator metrics", op.metrics_text()),
    ] {
        found.extend(leaks(what, &text, &m));
    }
    // the failures did happen and were reported (this test must see the errors it checks)
    let notes = json!(api.list("events.k8s.io/v1", "Event")).to_string();
    assert!(
        notes.contains("KEDAScalerFailed") || notes.contains("ScaledObjectCheckFailed"),
        "{notes}"
    );
    let all_logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        all_logs.len() > 10_000,
        "the logs were captured ({} bytes)",
        all_logs.len()
    );
    found.extend(leaks("logs", &all_logs, &m));

    // prescale validate of the same manifests, text and JSON
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.yaml");
    let yaml: Vec<String> = docs
        .iter()
        .map(|d| serde_yaml::to_string(d).unwrap())
        .collect();
    std::fs::write(&file, yaml.join("---\n")).unwrap();
    for args in [vec![], vec!["-o", "json"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_prescale"))
            .arg("validate")
            .arg("-f")
            .arg(&file)
            .args(&args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("addr") && text.contains("wrong"),
            "validate checked the objects: {text}"
        );
        found.extend(leaks(&format!("validate {args:?}"), &text, &m));
    }
    // the admission webhook's answers for the same objects, resolved against the stand-in
    let reviewer = prescale::webhook::review::Reviewer {
        client: api.client(),
        policy: prescale::webhook::FailurePolicy::Fail,
        cluster_object_namespace: "prescale".into(),
    };
    let mut denied: Vec<String> = Vec::new();
    for d in docs
        .iter()
        .filter(|d| d["apiVersion"] == "keda.sh/v1alpha1")
    {
        let kind = d["kind"].as_str().unwrap();
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u", "kind": {"group": "keda.sh", "version": "v1alpha1", "kind": kind},
            "resource": {"group": "keda.sh", "version": "v1alpha1", "resource": format!("{}s", kind.to_lowercase())},
            "name": d["metadata"]["name"], "namespace": "shop", "operation": "CREATE",
            "userInfo": {}, "object": d, "oldObject": null}});
        let answer = reviewer
            .review(serde_json::from_value(review).unwrap())
            .await;
        let text = serde_json::to_string(&answer).unwrap();
        if text.contains("\"allowed\":false") {
            denied.push(format!(
                "{kind} {}",
                d["metadata"]["name"].as_str().unwrap()
            ));
        }
        found.extend(leaks(
            &format!("webhook answer for {kind} {}", d["metadata"]["name"]),
            &text,
            &m,
        ));
    }
    // the webhook saw the unusable address, in the ScaledObject and in the ScaledJob
    for who in ["ScaledObject addr", "ScaledJob job-addr"] {
        assert!(
            denied.iter().any(|d| d == who),
            "{who} not denied: {denied:?}"
        );
    }
    let all_logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    found.extend(leaks("logs (after the webhook)", &all_logs, &m));
    let addr = scaled_object(&api, "shop", "addr").unwrap();
    assert!(
        found.is_empty(),
        "{}\n{}",
        found.join("\n"),
        addr["status"]["conditions"]
    );
}
