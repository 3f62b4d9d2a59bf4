//! `deploy/grafana/prescale.json` against real data: a `prescale run` process (kubeconfig
//! pointing at the API stand-in on a loopback port) polls a real Redis for one ScaledObject
//! with a pre-scaling schedule and for one whose key is not a list (errors, then fallback), serves
//! the external metrics API to a front-proxy client, and a real Prometheus scrapes its admin
//! `/metrics`. Then every panel query of the dashboard (template variables substituted as
//! Grafana does for "All") and every template variable's `label_values` must parse and return
//! data.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_testkit::prometheus::{PrometheusOptions, PrometheusServer};
use prescale_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::aggregation::{front_proxy, https_client};
use support::deployment;

fn dashboard() -> Value {
    let path = format!(
        "{}/../deploy/grafana/prescale.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every `(panel title, expr)` of the dashboard's panels (rows included, nested or not).
fn queries(d: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            for t in p["targets"].as_array().into_iter().flatten() {
                let title = p["title"].as_str().unwrap_or_default().to_string();
                out.push((title, t["expr"].as_str().unwrap_or_default().to_string()));
            }
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    out
}

/// Grafana's substitution with "All" selected on multi-value variables (`(a|b)` regexes) and
/// a rate interval of a few scrapes.
fn substitute(expr: &str) -> String {
    expr.replace("$namespace", "(jobs)")
        .replace("$scaledobject", "(worker|broken)")
        .replace("$__rate_interval", "30s")
}

struct Process(Child, Arc<Mutex<Vec<String>>>);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    fn line(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(l) = self.1.lock().unwrap().iter().find(|l| l.contains(what)) {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {what:?} in {:#?}",
                self.1.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `prescale run` against `server`, with leader election, its metrics API on `api_port`.
fn prescale_run(dir: &std::path::Path, server: &str, api_port: u16) -> Process {
    let kubeconfig = prescale_kube_standin::listen::kubeconfig(server, dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["run", "--admin-addr", "127.0.0.1:0", "--identity", "dash-0"])
        .args(["--metrics-api-addr", &format!("127.0.0.1:{api_port}")])
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("PRESCALE_LOG_LEVEL", "info")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Process(child, log)
}

fn setup(api: &ApiServer, redis: &RedisServer) {
    let address = redis.address();
    let (host, port) = address.split_once(':').unwrap();
    let env = json!([{"name": "REDIS_HOST", "value": host}, {"name": "REDIS_PORT", "value": port}]);
    api.put(deployment("jobs", "worker", 1, env.clone()));
    api.put(deployment("jobs", "broken", 2, env));
    api.put(json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "worker", "namespace": "jobs"},
        "spec": {
            "scaleTargetRef": {"name": "worker"},
            "pollingInterval": 1, "minReplicaCount": 1, "maxReplicaCount": 8,
            "triggers": [
                {"type": "redis", "name": "queue", "metadata": {"hostFromEnv": "REDIS_HOST", "portFromEnv": "REDIS_PORT", "listName": "jobs", "listLength": "5"}},
                {"type": "schedule", "name": "nightly", "metadata": {"timezone": "UTC", "leadTime": "1m", "recurring": "0 3 * * * / 0 4 * * * = 3"}}
            ]
        }
    }));
    api.put(json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "broken", "namespace": "jobs"},
        "spec": {
            "scaleTargetRef": {"name": "broken"},
            "pollingInterval": 1, "minReplicaCount": 1, "maxReplicaCount": 8,
            "fallback": {"failureThreshold": 2, "replicas": 4},
            "triggers": [{"type": "redis", "name": "wrongtype", "metadata": {"hostFromEnv": "REDIS_HOST", "portFromEnv": "REDIS_PORT", "listName": "not-a-list", "listLength": "5"}}]
        }
    }));
    api.set_access(|_| true);
}

async fn query(port: u16, path: &str, params: &[(&str, &str)]) -> Value {
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .query(params)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

/// The queries (and variables) that do not yet parse or return data, with Prometheus's answer.
async fn missing(port: u16, d: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (title, expr) in queries(d) {
        let q = substitute(&expr);
        let a = query(port, "/api/v1/query", &[("query", &q)]).await;
        let empty = a["data"]["result"].as_array().is_none_or(|r| r.is_empty());
        if a["status"] != "success" || empty {
            out.push(format!("{title}: {q} -> {a}"));
        }
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        let Some(def) = v["definition"].as_str() else {
            continue;
        };
        // label_values(SELECTOR, LABEL) is Grafana's call of /api/v1/label/LABEL/values
        let inner = def
            .strip_prefix("label_values(")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or_else(|| panic!("variable {def} is not label_values(...)"));
        let (selector, label) = inner.rsplit_once(',').unwrap();
        let selector = substitute(selector.trim());
        let a = query(
            port,
            &format!("/api/v1/label/{}/values", label.trim()),
            &[("match[]", &selector)],
        )
        .await;
        if a["status"] != "success" || a["data"].as_array().is_none_or(|r| r.is_empty()) {
            out.push(format!("variable {}: {def} -> {a}", v["name"]));
        }
    }
    out
}

#[test]
fn the_dashboard_is_well_formed() {
    let d = dashboard();
    assert_eq!(d["uid"], "prescale-operator");
    let names: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["datasource", "namespace", "scaledobject"]);
    let qs = queries(&d);
    assert!(qs.len() >= 20, "{qs:?}");
    let mut ids = std::collections::HashSet::new();
    for p in d["panels"].as_array().unwrap() {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate id {p}");
        if p["type"] != "row" {
            assert!(!p["targets"].as_array().unwrap().is_empty(), "{p}");
            assert!(p["description"].as_str().is_some_and(|s| !s.is_empty()));
        }
    }
    // per-ScaledObject series are filtered by both variables
    for (title, expr) in &qs {
        for series in [
            "prescale_scaler_metrics_value",
            "prescale_scaled_object_replicas",
            "prescale_prescaling_min_replicas",
            "prescale_scaler_errors_total",
        ] {
            if expr.contains(series) {
                assert!(
                    expr.contains("scaled_object=~\"$scaledobject\"")
                        && expr.contains("namespace=~\"$namespace\""),
                    "{title}: {expr}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_returns_data_from_a_real_prometheus_scraping_prescale_run() {
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let api = ApiServer::new();
    let identity = front_proxy(&api);
    // LLEN of a string fails at every poll (WRONGTYPE), while the connection is fine
    redis.cli(&["SET", "not-a-list", "x"]);
    setup(&api, &redis);
    let server = api.listen().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let api_port = prescale_testkit::free_port();
    let run = prescale_run(dir.path(), &format!("http://{server}"), api_port);
    let admin = tokio::task::spawn_blocking({
        let line = run.line("admin server listening");
        move || {
            let addr = line.split("addr=").nth(1).expect("addr field");
            addr.split_whitespace().next().unwrap().to_string()
        }
    })
    .await
    .unwrap();
    let prom = tokio::task::spawn_blocking(move || {
        PrometheusServer::start_with(PrometheusOptions {
            scrape: vec![("prescale".into(), admin)],
            ..Default::default()
        })
    })
    .await
    .unwrap();
    redis.cli(&["RPUSH", "jobs", "a", "b", "c", "d", "e", "f", "g"]);

    // the HPA's reads (through the front proxy) and a caller without a certificate (401)
    let hpa = https_client(&identity);
    let anonymous = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let url = format!(
        "https://localhost:{api_port}/apis/external.metrics.k8s.io/v1beta1/namespaces/jobs/s0-redis-jobs?labelSelector=scaledobject.keda.sh%2Fname%3Dworker"
    );
    let d = dashboard();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut served = None;
    loop {
        if let Ok(r) = hpa
            .get(&url)
            .header("X-Remote-User", support::aggregation::HPA_USER)
            .send()
            .await
        {
            let ok = r.status().is_success();
            let body: Value = r.json().await.unwrap_or_default();
            if ok {
                served = body["items"][0]["value"].as_str().map(str::to_string);
            }
        }
        let _ = anonymous.get(&url).send().await;
        let gaps = missing(prom.port, &d).await;
        if gaps.is_empty() && served.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no data for:\n{}\nserved: {served:?}\nbroken's status: {}\nprescale log:\n{}",
            gaps.join("\n"),
            support::scaled_object(&api, "jobs", "broken").unwrap_or_default()["status"],
            run.1.lock().unwrap().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    assert_eq!(
        served.as_deref(),
        Some("7"),
        "the HPA read the queue length"
    );

    // the numbers behind the panels are the situation's own
    let v = |q: &str| {
        let q = q.to_string();
        async move {
            let a = query(prom.port, "/api/v1/query", &[("query", &q)]).await;
            a["data"]["result"][0]["value"][1]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    assert_eq!(
        v("prescale_scaler_metrics_value{scaled_object=\"worker\",scaler=\"queue\"}").await,
        "7"
    );
    assert_eq!(
        v("prescale_scaler_metrics_target{scaled_object=\"worker\",scaler=\"queue\"}").await,
        "5"
    );
    assert_eq!(v("prescale_leader").await, "1");
    assert_eq!(
        v("prescale_scaler_fallback{scaled_object=\"broken\"}").await,
        "1"
    );
    // fallback: 4 replicas × target 5
    assert_eq!(
        v("prescale_scaler_metrics_value{scaled_object=\"broken\"}").await,
        "20"
    );
    assert_eq!(
        v("prescale_prescaling_min_replicas{scaled_object=\"worker\"}").await,
        "1"
    );
}
