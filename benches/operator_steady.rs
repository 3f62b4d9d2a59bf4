//! The operator at steady state with N ScaledObjects: the real `prescale run` binary, as a
//! process of its own (production defaults: client rate limit, leader election, the metrics
//! API served), in front of the API stand-in served over HTTP by this process; triggers against
//! real Prometheus, Redis and MariaDB servers started here (a quarter each, plus cron; `--mix
//! cron` for cron only), idle targets (every source answers 0), `pollingInterval: 30`.
//!
//! Reports the time until every HPA exists and every object is Ready, then over a window of
//! `--window` seconds (after `--warmup` seconds): the operator process's RSS (now and peak), its
//! average CPU, the API writes, and the p99 of `prescale_poll_loop_lateness_seconds` read from
//! its admin `/metrics`. The stand-in and the backends are other processes' (or this one's)
//! memory and CPU: what is read from `/proc/<pid>` is the operator's alone.
//!
//! Run: `cargo build --release -p prescale && cargo bench -p prescale-benches --bench
//! operator_steady -- --objects 10000 --window 60` (`--prescale PATH` for another binary).

use prescale_benches::arg;
use prescale_benches::proc::{cpu_of, rss_of};
use prescale_kube_standin::ApiServer;
use prescale_testkit::mariadb::MariaDb;
use prescale_testkit::prometheus::PrometheusServer;
use prescale_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The backends of a mixed run.
pub struct Backends {
    prometheus: PrometheusServer,
    redis: RedisServer,
    mariadb: MariaDb,
}

impl Backends {
    /// A real Prometheus, Redis and MariaDB.
    pub fn start() -> Self {
        Self {
            prometheus: PrometheusServer::start(),
            redis: RedisServer::start(),
            mariadb: MariaDb::start(),
        }
    }
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

/// Objects `app-<i>` (a Deployment and its ScaledObject) for every `i` of `range`.
pub fn objects(api: &ApiServer, range: std::ops::Range<usize>, b: Option<&Backends>) {
    for i in range {
        let name = format!("app-{i}");
        let (trigger, env) = trigger(i, b);
        api.put(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "bench"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {"spec": {"containers": [{"name": "c", "image": "i", "env": env}]}}}}));
        api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": name, "namespace": "bench"},
            "spec": {"scaleTargetRef": {"name": name}, "minReplicaCount": 1, "pollingInterval": 30,
                     "triggers": [trigger]}}));
    }
}

pub fn writes(api: &ApiServer) -> u64 {
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

pub fn ready(so: &Value) -> bool {
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
    pub operator_mib: f64,
    pub operator_peak_mib: f64,
    pub mcpu: f64,
    pub writes: u64,
    pub lateness_p99: Option<f64>,
    pub polls: u64,
    /// The operator's CPU time from its start to the end of the window.
    pub cpu_total: Duration,
    /// `prescale_*` samples on its admin `/metrics` at the end.
    pub metric_samples: usize,
}

/// The `prescale` binary of the same profile as this bench, in the workspace's target dir.
pub fn default_binary() -> String {
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| format!("{}/../target", env!("CARGO_MANIFEST_DIR")));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!("{target}/{profile}/prescale")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub use prescale_kube_standin::listen::kubeconfig;

/// `prescale run` as a child process; killed when dropped.
pub struct Operator {
    pub child: Child,
    pub admin: u16,
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Operator {
    /// `binary run --identity <identity> <extra>` with its log in `dir/<identity>.log`, the
    /// client limit `qps` (burst twice that), its admin and metrics API on free ports (the
    /// metrics API's port is returned for `--advertise-address`-style use through `extra_for`).
    pub fn spawn(
        binary: &str,
        kubeconfig: &std::path::Path,
        dir: &std::path::Path,
        identity: &str,
        extra_for: impl FnOnce(u16) -> Vec<String>,
        qps: f64,
    ) -> Self {
        let (admin, api) = (free_port(), free_port());
        let log = std::fs::File::create(dir.join(format!("{identity}.log"))).expect("log file");
        let child = Command::new(binary)
            .args(["run", "--identity", identity])
            .args(["--admin-addr", &format!("127.0.0.1:{admin}")])
            .args(["--metrics-api-addr", &format!("127.0.0.1:{api}")])
            .args(["--kube-api-qps", &qps.to_string()])
            .args(["--kube-api-burst", &((qps * 2.0) as u32).to_string()])
            .args(extra_for(api))
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", dir)
            .env("NO_COLOR", "1")
            .env("PRESCALE_LOG_LEVEL", "warn")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{binary}: {e} (build it: cargo build [--release] -p prescale)")
            });
        Self { child, admin }
    }

    fn start(binary: &str, server: &str, dir: &std::path::Path, qps: f64) -> Self {
        let kubeconfig = kubeconfig(server, dir);
        Self::spawn(binary, &kubeconfig, dir, "bench-0", |_| Vec::new(), qps)
    }

    /// The operator's own `/metrics` text (empty when it cannot be read).
    pub async fn metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.admin);
        match reqwest::get(&url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}

/// The backends, the stand-in with N objects, and `prescale run` in front of it, set up.
pub struct Running {
    pub api: ApiServer,
    op: Operator,
    pub pid: u32,
    pub setup: Duration,
    backends: Option<Backends>,
    dir: tempfile::TempDir,
}

impl Running {
    /// Starts the backends (`mixed`), the stand-in with `n` objects and the operator, and
    /// waits until every object has its HPA and is Ready.
    pub async fn start(n: usize, mixed: bool, qps: f64) -> Self {
        let binary = arg("--prescale", default_binary());
        let backends = mixed.then(|| Backends {
            prometheus: PrometheusServer::start(),
            redis: RedisServer::start(),
            mariadb: MariaDb::start(),
        });
        let api = ApiServer::new();
        objects(&api, 0..n, backends.as_ref());
        let addr = api.listen().await.expect("stand-in listening");
        let dir = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        let op = Operator::start(&binary, &format!("http://{addr}"), dir.path(), qps);
        let pid = op.child.id();
        let mut running = Self {
            api,
            op,
            pid,
            setup: Duration::ZERO,
            backends,
            dir,
        };
        running.settle(n, Duration::from_secs(3600)).await;
        running.setup = started.elapsed();
        running
    }

    /// Waits until `n` HPAs exist and every ScaledObject is Ready (panics with the operator's
    /// log if it exits or `limit` passes).
    pub async fn settle(&mut self, n: usize, limit: Duration) {
        let started = Instant::now();
        loop {
            // counted in place: a LIST copy of every object would hold the stand-in's lock
            if self
                .api
                .count("autoscaling/v2", "HorizontalPodAutoscaler", |_| true)
                == n
                && self
                    .api
                    .count("keda.sh/v1alpha1", "ScaledObject", |so| !ready(so))
                    == 0
            {
                return;
            }
            let exited = self.op.child.try_wait().ok().flatten();
            if exited.is_some() || started.elapsed() > limit {
                let log = std::fs::read_to_string(self.dir.path().join("operator.log"))
                    .unwrap_or_default();
                panic!("not settled ({exited:?}); operator log:\n{log}");
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    pub fn backends(&self) -> Option<&Backends> {
        self.backends.as_ref()
    }

    pub async fn metrics(&self) -> String {
        self.op.metrics().await
    }
}

pub async fn run(n: usize, mixed: bool, window: Duration, warmup: Duration, qps: f64) -> Report {
    let running = Running::start(n, mixed, qps).await;
    let (api, op, pid, setup) = (&running.api, &running.op, running.pid, running.setup);
    tokio::time::sleep(warmup).await;
    let name = "prescale_poll_loop_lateness_seconds";
    let before = buckets(&op.metrics().await, name);
    let (cpu0, w0) = (cpu_of(pid), writes(api));
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let (cpu1, w1) = (cpu_of(pid), writes(api));
    let elapsed = t0.elapsed().as_secs_f64();
    let text = op.metrics().await;
    let after = buckets(&text, name);
    let (rss, peak) = rss_of(pid);
    drop(running);
    let q = quantile(&before, &after, 0.99);
    Report {
        objects: n,
        setup,
        operator_mib: rss as f64 / 1024.0,
        operator_peak_mib: peak as f64 / 1024.0,
        mcpu: (cpu1 - cpu0).as_secs_f64() / elapsed * 1000.0,
        writes: w1 - w0,
        lateness_p99: q.map(|(le, _)| le),
        polls: q.map_or(0, |(_, n)| n),
        cpu_total: cpu1,
        metric_samples: text.lines().filter(|l| l.starts_with("prescale_")).count(),
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
        "| objects | mix | setup (every HPA + Ready) | operator RSS | operator peak RSS | average CPU | writes in window | polls in window | poll lateness p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {mix} | {:.1} s | {:.1} MiB | {:.1} MiB | {:.1} mCPU | {} | {} | ≤ {} |",
        r.objects,
        r.setup.as_secs_f64(),
        r.operator_mib,
        r.operator_peak_mib,
        r.mcpu,
        r.writes,
        r.polls,
        r.lateness_p99
            .map_or("–".to_string(), |s| format!("{:.3} s", s)),
    );
}
