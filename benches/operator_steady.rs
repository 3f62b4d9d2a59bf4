//! The operator at steady state with N ScaledObjects: `prescale run`'s wiring (production
//! client rate limit) in front of the in-process API stand-in, triggers against real
//! Prometheus, Redis and MariaDB servers started here (a quarter each, plus cron; `--mix cron`
//! for cron only), idle targets (every source answers 0), `pollingInterval: 30`.
//!
//! Reports the time until every HPA exists and every object is Ready, then over a window of
//! `--window` seconds (after one polling interval of warm-up): the operator's RSS, its average
//! CPU, the API writes, and the p99 of `prescale_poll_loop_lateness_seconds`.
//!
//! The stand-in runs in this process, so its memory is measured first (objects loaded,
//! operator not started) and subtracted: the operator's share also carries what its HPAs and
//! status writes added to the stand-in, so it is an upper bound. CPU is the process's over the
//! window: the stand-in does close to nothing then (watches idle, no writes).
//!
//! Run: `cargo bench -p prescale-benches --bench operator_steady -- --objects 10000 --window 60`

use prescale::kube_client::RateLimitLayer;
use prescale::leader::Leadership;
use prescale::metric_store::MetricStore;
use prescale::operator::{self, Handles, OperatorOptions};
use prescale::telemetry::admin::Readiness;
use prescale::telemetry::metrics::operator_registry;
use prescale_benches::{arg, cpu_seconds, rss_kib};
use prescale_kube_standin::ApiServer;
use prescale_testkit::mariadb::MariaDb;
use prescale_testkit::prometheus::PrometheusServer;
use prescale_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The backends of a mixed run.
struct Backends {
    prometheus: PrometheusServer,
    redis: RedisServer,
    mariadb: MariaDb,
}

fn trigger(i: usize, b: Option<&Backends>) -> (Value, Value) {
    let q = i % 100;
    let cron = json!({"type": "cron", "metadata": {"timezone": "Etc/UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "3"}});
    let Some(b) = b else {
        return (cron, json!([]));
    };
    match i % 4 {
        0 => (
            json!({"type": "prometheus", "metadata": {"serverAddress": b.prometheus.address(), "query": format!("vector(0) * {q}"), "threshold": "5"}}),
            json!([]),
        ),
        1 => (
            json!({"type": "redis", "metadata": {"address": b.redis.address(), "listName": format!("q{q}"), "listLength": "5"}}),
            json!([]),
        ),
        2 => (
            json!({"type": "mysql", "metadata": {"query": format!("SELECT 0 * {q}"), "queryValue": "5", "connectionStringFromEnv": "DSN"}}),
            json!([{"name": "DSN", "value": b.mariadb.go_dsn("")}]),
        ),
        _ => (cron, json!([])),
    }
}

fn objects(api: &ApiServer, n: usize, b: Option<&Backends>) {
    for i in 0..n {
        let name = format!("app-{i}");
        let (trigger, env) = trigger(i, b);
        api.put(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "bench"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {"spec": {"containers": [{"name": "c", "image": "i", "env": env}]}}}}));
        api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": name, "namespace": "bench"},
            "spec": {"scaleTargetRef": {"name": name}, "minReplicaCount": 1, "pollingInterval": 30,
                     "triggers": [trigger]}}));
    }
}

fn writes(api: &ApiServer) -> u64 {
    [
        "scaledobjects",
        "horizontalpodautoscalers",
        "deployments",
        "events",
    ]
    .iter()
    .map(|p| api.writes(p))
    .sum()
}

fn ready(so: &Value) -> bool {
    so["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Cumulative bucket counts `(le, count)` of a histogram in the text exposition.
fn buckets(text: &str, name: &str) -> Vec<(f64, u64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The upper bound of the bucket holding the `q` quantile of what was observed between two
/// snapshots of the same histogram.
fn quantile(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> Option<(f64, u64)> {
    let delta: Vec<(f64, u64)> = after
        .iter()
        .map(|(le, n)| {
            let b = before.iter().find(|(l, _)| l == le).map_or(0, |(_, n)| *n);
            (*le, n - b)
        })
        .collect();
    let total = delta.last()?.1;
    let rank = (q * total as f64).ceil() as u64;
    delta
        .iter()
        .find(|(_, n)| *n >= rank)
        .map(|(le, _)| (*le, total))
}

/// What one run measured.
pub struct Report {
    pub objects: usize,
    pub setup: Duration,
    pub baseline_mib: f64,
    pub operator_mib: f64,
    pub mcpu: f64,
    pub writes: u64,
    pub lateness_p99: Option<f64>,
    pub polls: u64,
}

pub async fn run(n: usize, mixed: bool, window: Duration, warmup: Duration, qps: f64) -> Report {
    let backends = mixed.then(|| Backends {
        prometheus: PrometheusServer::start(),
        redis: RedisServer::start(),
        mariadb: MariaDb::start(),
    });
    let api = ApiServer::new();
    objects(&api, n, backends.as_ref());
    let baseline = rss_kib();
    let client = kube::client::ClientBuilder::new(api.service(), "default")
        .with_layer(&RateLimitLayer::new(qps, (qps * 2.0) as u32))
        .build();
    let events_client = kube::client::ClientBuilder::new(api.service(), "default")
        .with_layer(&RateLimitLayer::new(qps, (qps * 2.0) as u32))
        .build();
    let (registry, metrics) = operator_registry();
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
    let started = Instant::now();
    let task = tokio::spawn(operator::run(client, opts, metrics, handles, sd));
    loop {
        if api.list("autoscaling/v2", "HorizontalPodAutoscaler").len() >= n
            && api
                .list("keda.sh/v1alpha1", "ScaledObject")
                .iter()
                .all(ready)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "did not finish"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let setup = started.elapsed();
    tokio::time::sleep(warmup).await;
    let text = |r: &prometheus_client::registry::Registry| {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, r).expect("encode");
        s
    };
    let name = "prescale_poll_loop_lateness_seconds";
    let before = buckets(&text(&registry), name);
    let (cpu0, w0) = (cpu_seconds(), writes(&api));
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let (cpu1, w1) = (cpu_seconds(), writes(&api));
    let elapsed = t0.elapsed().as_secs_f64();
    let after = buckets(&text(&registry), name);
    let rss = rss_kib();
    trigger.fire();
    let _ = task.await;
    let q = quantile(&before, &after, 0.99);
    drop(backends);
    Report {
        objects: n,
        setup,
        baseline_mib: baseline as f64 / 1024.0,
        operator_mib: rss.saturating_sub(baseline) as f64 / 1024.0,
        mcpu: (cpu1 - cpu0) / elapsed * 1000.0,
        writes: w1 - w0,
        lateness_p99: q.map(|(le, _)| le),
        polls: q.map_or(0, |(_, n)| n),
    }
}

#[allow(dead_code)]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = arg("--objects", 1000);
    let mix: String = arg("--mix", "mixed".to_string());
    let window: u64 = arg("--window", 60);
    let warmup: u64 = arg("--warmup", 35);
    let qps: f64 = arg("--qps", 200.0);
    let r = run(
        n,
        mix == "mixed",
        Duration::from_secs(window),
        Duration::from_secs(warmup),
        qps,
    )
    .await;
    println!(
        "| objects | mix | setup (every HPA + Ready) | stand-in + objects RSS | operator RSS | average CPU | writes in window | polls in window | poll lateness p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {mix} | {:.1} s | {:.1} MiB | {:.1} MiB | {:.1} mCPU | {} | {} | ≤ {} |",
        r.objects,
        r.setup.as_secs_f64(),
        r.baseline_mib,
        r.operator_mib,
        r.mcpu,
        r.writes,
        r.polls,
        r.lateness_p99
            .map_or("–".to_string(), |s| format!("{:.3} s", s)),
    );
}
