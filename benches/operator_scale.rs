//! N new ScaledObjects to HPAs and Ready, then a restart with them in place, through
//! `prescale run`'s wiring with the production client rate limit (200 QPS, burst 400) in front
//! of the in-process API stand-in. Reports the time until every HPA exists and every
//! ScaledObject is Ready=True, the requests by kind (writes per object), the writes once every
//! poll loop has polled, and the writes a restarted operator makes for objects already right
//! (the goal: none).
//!
//! Run: `cargo bench -p prescale-benches --bench operator_scale -- --objects 1000 --settle 35`
//! (`--qps`/`--burst` change the client rate limit; KEDA's default is 20 / 30).

use prescale::kube_client::RateLimitLayer;
use prescale::leader::Leadership;
use prescale::metric_store::MetricStore;
use prescale::operator::{self, Handles, OperatorOptions};
use prescale::telemetry::admin::Readiness;
use prescale::telemetry::metrics::operator_registry;
use prescale_benches::arg;
use prescale_kube_standin::ApiServer;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The plurals the operator writes, in the order printed.
const WRITTEN: [&str; 4] = [
    "scaledobjects",
    "horizontalpodautoscalers",
    "deployments",
    "events",
];

fn objects(api: &ApiServer, n: usize) {
    for i in 0..n {
        let name = format!("app-{i}");
        api.put(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "bench"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}));
        api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": name, "namespace": "bench"},
            "spec": {"scaleTargetRef": {"name": name}, "minReplicaCount": 1, "pollingInterval": 30,
                     "triggers": [{"type": "cron", "metadata": {"timezone": "Etc/UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "3"}}]}}));
    }
}

/// A running operator: stop it with `stop`.
struct Running {
    trigger: prescale::shutdown::Trigger,
    task: tokio::task::JoinHandle<Result<(), Box<dyn std::error::Error + Send + Sync>>>,
}

impl Running {
    fn start(api: &ApiServer, qps: f64, burst: u32) -> Self {
        let client = kube::client::ClientBuilder::new(api.service(), "default")
            .with_layer(&RateLimitLayer::new(qps, burst))
            .build();
        let events_client = kube::client::ClientBuilder::new(api.service(), "default")
            .with_layer(&RateLimitLayer::new(qps, burst))
            .build();
        let (_registry, metrics) = operator_registry();
        let handles = Handles {
            metric_store: Arc::new(MetricStore::new()),
            readiness: Readiness::default(),
            leadership: Leadership::always(),
        };
        let (trigger, sd) = prescale::shutdown::channel();
        let opts = OperatorOptions {
            config: Default::default(),
            watch_namespace: None,
            lease: None,
            max_concurrent_reconciles: 20,
            default_timeout: Duration::from_secs(3),
            instance: None,
            // Events with a client of their own, as `prescale run` does
            events_client: Some(events_client),
            metrics_api: None,
            clock: Arc::new(prescale_scalers::SystemClock),
        };
        let task = tokio::spawn(async move {
            operator::run(client, opts, metrics, handles, sd)
                .await
                .map_err(|e| e.into())
        });
        Self { trigger, task }
    }

    async fn stop(self) {
        self.trigger.fire();
        let _ = self.task.await;
    }
}

/// Its poll loop has polled once: `Active` is known (the first tick is placed somewhere in the
/// polling interval, so this can come up to `pollingInterval` after Ready).
fn polled(so: &Value) -> bool {
    so["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Active" && (c["status"] == "True" || c["status"] == "False"))
    })
}

fn ready(so: &Value) -> bool {
    so["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Writes per plural since `before`.
fn writes(api: &ApiServer, before: &[u64; 4]) -> [u64; 4] {
    let mut out = [0; 4];
    for (i, p) in WRITTEN.iter().enumerate() {
        out[i] = api.writes(p) - before[i];
    }
    out
}

/// Reads that the caches are there to avoid: GETs of targets' `/scale`, Secrets and targets.
fn reads(api: &ApiServer) -> u64 {
    api.requests("get", "deployments", "scale")
        + api.requests("get", "deployments", "")
        + api.requests("get", "secrets", "")
        + api.requests("get", "configmaps", "")
        + api.requests("list", "horizontalpodautoscalers", "")
}

fn row(what: &str, n: usize, took: Option<Duration>, w: [u64; 4], reads: u64) {
    let total: u64 = w.iter().sum();
    let no_events = total - w[3];
    println!(
        "| {what} | {n} | {} | {} | {} | {} | {} | {total} ({:.2}/object; {:.2} without Events) | {reads} |",
        took.map_or("–".to_string(), |t| format!("{:.1} s", t.as_secs_f64())),
        w[0],
        w[1],
        w[2],
        w[3],
        total as f64 / n as f64,
        no_events as f64 / n as f64,
    );
}

/// What one run measured.
pub struct Report {
    pub objects: usize,
    pub took: Duration,
    /// Writes per plural ([`WRITTEN`]) until every HPA exists and every object is Ready.
    pub new: [u64; 4],
    pub new_reads: u64,
    /// Writes per plural `settle` seconds later.
    pub settled: [u64; 4],
    pub settled_reads: u64,
    /// Writes of a restarted operator with every object in place, over `settle` seconds.
    pub restart: [u64; 4],
    pub restart_reads: u64,
}

/// Creates `n` objects, starts the operator, waits for every HPA and Ready, waits `settle`
/// seconds, restarts it and waits `settle` seconds again.
pub async fn run(n: usize, settle: Duration, qps: f64, burst: u32) -> Report {
    let api = ApiServer::new();
    objects(&api, n);
    let zero = writes(&api, &[0; 4]);
    let reads0 = reads(&api);
    let started = Instant::now();
    let op = Running::start(&api, qps, burst);
    loop {
        let hpas = api.list("autoscaling/v2", "HorizontalPodAutoscaler").len();
        if hpas >= n
            && api
                .list("keda.sh/v1alpha1", "ScaledObject")
                .iter()
                .all(ready)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = started.elapsed();
    let new = writes(&api, &zero);
    let new_reads = reads(&api) - reads0;
    tokio::time::sleep(settle).await;
    // a restart is measured with every object in its steady state: polled at least once
    while !api
        .list("keda.sh/v1alpha1", "ScaledObject")
        .iter()
        .all(polled)
    {
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "not every object was polled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let settled = writes(&api, &zero);
    let settled_reads = reads(&api) - reads0;
    op.stop().await;

    let before = writes(&api, &[0; 4]);
    let reads1 = reads(&api);
    let op = Running::start(&api, qps, burst);
    tokio::time::sleep(settle).await;
    let restart = writes(&api, &before);
    let restart_reads = reads(&api) - reads1;
    op.stop().await;
    Report {
        objects: n,
        took,
        new,
        new_reads,
        settled,
        settled_reads,
        restart,
        restart_reads,
    }
}

#[allow(dead_code)]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = arg("--objects", 1000);
    let settle: u64 = arg("--settle", 35);
    let qps: f64 = arg("--qps", 200.0);
    let burst: u32 = arg("--burst", 400);
    println!(
        "{n} ScaledObjects (cron), client {qps} QPS / burst {burst}, settle {settle} s (pollingInterval 30 s)\n"
    );
    println!(
        "| phase | objects | time until every HPA exists and every ScaledObject is Ready | ScaledObject writes | HPA writes | Deployment writes | Events | writes | GET/LIST the caches replace |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let r = run(n, Duration::from_secs(settle), qps, burst).await;
    row(
        "new objects → HPA + Ready",
        n,
        Some(r.took),
        r.new,
        r.new_reads,
    );
    row(
        &format!("… and {settle} s later (every loop polled)"),
        n,
        None,
        r.settled,
        r.settled_reads,
    );
    row(
        &format!("restart, objects in place, {settle} s"),
        n,
        None,
        r.restart,
        r.restart_reads,
    );
    println!(
        "\npeak RSS (stand-in + operator): {} MiB",
        prescale_benches::peak_rss_kib() / 1024
    );
}
