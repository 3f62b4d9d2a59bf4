//! `prescale run --shards`: what one replica costs when N ScaledObjects are spread over R
//! replicas, against one unsharded replica with the same objects in the same run. Set-up as
//! `operator_steady` (the real `prescale run` binary as processes of their own in front of the
//! API stand-in served over HTTP by this process; real Prometheus, Redis and MariaDB with
//! `--mix mixed`, cron only with `--mix cron`; idle targets; `pollingInterval: 30`).
//!
//! First `operator_steady`'s run with one replica (no sharding), then R replicas with
//! `--shards S`: once every HPA exists, every object is Ready and every replica holds its fair
//! share, after `--warmup` seconds, over `--window` seconds: each replica's RSS, CPU and polls.
//!
//! Run: `cargo build --release -p prescale && cargo bench -p prescale-benches --bench
//! operator_sharded -- --objects 2000 --replicas 3 --shards 6 --window 60`

#[path = "operator_steady.rs"]
#[allow(dead_code)]
pub mod operator_steady;

use operator_steady::{Backends, Operator, default_binary, kubeconfig, objects, ready};
use prescale_benches::arg;
use prescale_benches::proc::{cpu_of, rss_of};
use prescale_kube_standin::ApiServer;
use std::time::{Duration, Instant};

/// One sharded replica's figures over the window.
#[derive(Debug, Clone)]
pub struct ReplicaReport {
    pub rss_mib: f64,
    pub mcpu: f64,
    pub polls: u64,
    pub shards_held: u64,
}

/// What one sharded run measured.
pub struct Report {
    pub objects: usize,
    pub shards: u32,
    pub setup: Duration,
    pub replicas: Vec<ReplicaReport>,
}

/// One replica: `prescale run --shards <shards>` advertising its metrics API on loopback.
fn replica(
    binary: &str,
    kubeconfig: &std::path::Path,
    dir: &std::path::Path,
    i: usize,
    shards: u32,
    qps: f64,
) -> Operator {
    let extra = |api: u16| {
        vec![
            "--shards".to_string(),
            shards.to_string(),
            "--advertise-address".to_string(),
            format!("127.0.0.1:{api}"),
        ]
    };
    Operator::spawn(binary, kubeconfig, dir, &format!("bench-{i}"), extra, qps)
}

/// A sample's value in the text exposition (0 when absent).
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// `replicas` replicas of `prescale run --shards shards` in front of a stand-in with `n`
/// objects, measured over `window` once settled and balanced.
pub async fn run(
    n: usize,
    mixed: bool,
    replicas: usize,
    shards: u32,
    window: Duration,
    warmup: Duration,
    qps: f64,
) -> Report {
    let binary = arg("--prescale", default_binary());
    let backends = mixed.then(Backends::start);
    let api = ApiServer::new();
    objects(&api, 0..n, backends.as_ref());
    let addr = api.listen().await.expect("stand-in listening");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = kubeconfig(&format!("http://{addr}"), dir.path());
    let started = Instant::now();
    let mut running: Vec<Operator> = (0..replicas)
        .map(|i| replica(&binary, &kubeconfig, dir.path(), i, shards, qps))
        .collect();
    let share = (shards as usize).div_ceil(replicas) as u64;
    loop {
        let mut held = Vec::new();
        for r in &running {
            held.push(sample(&r.metrics().await, "prescale_shards_held"));
        }
        let balanced =
            held.iter().sum::<u64>() == u64::from(shards) && held.iter().all(|h| *h <= share);
        if balanced
            && api.count("autoscaling/v2", "HorizontalPodAutoscaler", |_| true) == n
            && api.count("keda.sh/v1alpha1", "ScaledObject", |so| !ready(so)) == 0
        {
            break;
        }
        for (i, r) in running.iter_mut().enumerate() {
            if let Ok(Some(status)) = r.child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join(format!("replica-{i}.log")))
                    .unwrap_or_default();
                panic!("replica {i} exited ({status}); its log:\n{log}");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "not settled in an hour"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let setup = started.elapsed();
    tokio::time::sleep(warmup).await;
    let pids: Vec<u32> = running.iter().map(|r| r.child.id()).collect();
    let mut before = Vec::new();
    for (r, pid) in running.iter().zip(&pids) {
        before.push((
            cpu_of(*pid),
            sample(
                &r.metrics().await,
                "prescale_poll_loop_lateness_seconds_count",
            ),
        ));
    }
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let mut out = Vec::new();
    for ((r, pid), (cpu0, polls0)) in running.iter().zip(&pids).zip(before) {
        let text = r.metrics().await;
        out.push(ReplicaReport {
            rss_mib: rss_of(*pid).0 as f64 / 1024.0,
            mcpu: (cpu_of(*pid) - cpu0).as_secs_f64() / elapsed * 1000.0,
            polls: sample(&text, "prescale_poll_loop_lateness_seconds_count") - polls0,
            shards_held: sample(&text, "prescale_shards_held"),
        });
    }
    drop(running);
    Report {
        objects: n,
        shards,
        setup,
        replicas: out,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = arg("--objects", 1000);
    let mix: String = arg("--mix", "mixed".to_string());
    let replicas: usize = arg("--replicas", 3);
    let shards: u32 = arg("--shards", 6);
    let window = Duration::from_secs(arg("--window", 60));
    let warmup = Duration::from_secs(arg("--warmup", 35));
    let qps: f64 = arg("--qps", 200.0);
    let mixed = mix == "mixed";
    let one = operator_steady::run(n, mixed, window, warmup, qps).await;
    let r = run(n, mixed, replicas, shards, window, warmup, qps).await;
    println!(
        "| objects | mix | replicas × shards | setup | RSS per replica | vs 1 replica | CPU per replica | polls in window per replica |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {n} | {mix} | 1 (no sharding) | {:.1} s | {:.1} MiB | 1.00× | {:.1} mCPU | {} |",
        one.setup.as_secs_f64(),
        one.operator_mib,
        one.mcpu,
        one.polls
    );
    let each = |f: &dyn Fn(&ReplicaReport) -> String| {
        r.replicas.iter().map(f).collect::<Vec<_>>().join(" / ")
    };
    let mean_rss =
        r.replicas.iter().map(|x| x.rss_mib).sum::<f64>() / r.replicas.len().max(1) as f64;
    println!(
        "| {n} | {mix} | {} × {} (held {}) | {:.1} s | {} MiB | {:.2}× (mean) | {} mCPU | {} |",
        r.replicas.len(),
        r.shards,
        each(&|x| x.shards_held.to_string()),
        r.setup.as_secs_f64(),
        each(&|x| format!("{:.1}", x.rss_mib)),
        mean_rss / one.operator_mib.max(f64::MIN_POSITIVE),
        each(&|x| format!("{:.1}", x.mcpu)),
        each(&|x| x.polls.to_string()),
    );
    let _ = r.objects;
}
