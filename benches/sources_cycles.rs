//! The cycle figures of the sources bench: what one polling cycle of many triggers costs
//! upstream.

use prescale_scalers::{Context, Scaler, TriggerInput, registry};
use prescale_testkit::prometheus::{PrometheusServer, http_get};
use prescale_testkit::redis::RedisServer;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CYCLES: usize = 50;

async fn scaler(ctx: &Context, input: TriggerInput) -> Arc<dyn Scaler> {
    registry::parse(&input)
        .expect("parse")
        .connect(ctx)
        .await
        .expect("connect")
}

/// One cycle: every scaler samples at once; its duration.
async fn cycle(scalers: &[Arc<dyn Scaler>]) -> Duration {
    let t = Instant::now();
    let tasks: Vec<_> = scalers
        .iter()
        .map(|s| {
            let s = s.clone();
            tokio::spawn(async move { s.sample().await.expect("sample") })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

/// Requests per second of `redis-benchmark -c 1 -P <pipeline> LLEN`.
fn redis_benchmark_pipelined(port: u16, pipeline: usize) -> f64 {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-c", "1"])
        .args([
            "-n",
            &(pipeline * 200).to_string(),
            "-P",
            &pipeline.to_string(),
        ])
        .args(["--csv", "LLEN", "k0"])
        .output()
        .expect("redis-benchmark (redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("LLEN"))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .expect("redis-benchmark rps")
}

/// `keys` Redis triggers on distinct keys of one server, sampled together, `CYCLES` times,
/// against the same counts by the raw client one after another and as one pipeline.
pub async fn redis_pipelined(ctx: &Context, r: &RedisServer, keys: usize) {
    let mut scalers = Vec::new();
    for k in 0..keys {
        let key = format!("k{k}");
        r.cli(&["RPUSH", &key, "x"]);
        let meta = [("address", r.address()), ("listName", key)];
        let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
        scalers.push(scaler(ctx, TriggerInput::new("redis", 0, &meta)).await);
    }
    let client = redis::Client::open(format!("redis://{}", r.address())).expect("client");
    let mut conn = redis::aio::ConnectionManager::new(client)
        .await
        .expect("conn");
    cycle(&scalers).await;
    let (mut ours, mut one_by_one, mut piped) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..CYCLES {
        ours.push(cycle(&scalers).await);
        let t = Instant::now();
        for k in 0..keys {
            let _: i64 = redis::cmd("LLEN")
                .arg(format!("k{k}"))
                .query_async(&mut conn)
                .await
                .expect("llen");
        }
        one_by_one.push(t.elapsed());
        let t = Instant::now();
        let mut p = redis::pipe();
        for k in 0..keys {
            p.cmd("LLEN").arg(format!("k{k}"));
        }
        let _: Vec<i64> = p.query_async(&mut conn).await.expect("pipeline");
        piped.push(t.elapsed());
    }
    let bench = redis_benchmark_pipelined(r.port, keys);
    let (ours, one_by_one, piped) = (median(ours), median(one_by_one), median(piped));
    println!("\n| {keys} Redis triggers, one server, one cycle | median µs | ratio to ours |");
    println!("|---|---|---|");
    println!(
        "| Prescale: {keys} `sample()` at once (pipelined) | {} | 1.00 |",
        us(ours)
    );
    let ratio = |d: Duration| d.as_secs_f64() / ours.as_secs_f64();
    println!(
        "| redis crate: {keys} LLEN one after another | {} | {:.2} |",
        us(one_by_one),
        ratio(one_by_one)
    );
    println!(
        "| redis crate: one pipeline of {keys} LLEN | {} | {:.2} |",
        us(piped),
        ratio(piped)
    );
    let bench = Duration::from_secs_f64(keys as f64 / bench);
    println!(
        "| `redis-benchmark -c 1 -P {keys} LLEN` (time per {keys}) | {} | {:.2} |",
        us(bench),
        ratio(bench)
    );
}

/// Instant queries Prometheus has answered, from its own `/metrics`.
fn prometheus_queries(p: &PrometheusServer) -> u64 {
    http_get(p.port, "/metrics")
        .lines()
        .filter(|l| {
            l.starts_with("prometheus_http_requests_total")
                && l.contains("handler=\"/api/v1/query\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// `objects` Prometheus triggers over `objects / 10` distinct queries, sampled together.
pub async fn prometheus_coalesced(ctx: &Context, p: &PrometheusServer, objects: usize) {
    let distinct = (objects / 10).max(1);
    let mut scalers = Vec::new();
    for i in 0..objects {
        let query = format!("sum(queue_depth) + {}", i % distinct);
        let meta = [
            ("serverAddress", p.address()),
            ("query", query),
            ("threshold", "5".to_string()),
        ];
        let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
        scalers.push(scaler(ctx, TriggerInput::new("prometheus", 0, &meta)).await);
    }
    let cycles = 5;
    // a first cycle: each scaler's first sample joins only calls in flight (not counted)
    cycle(&scalers).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = prometheus_queries(p);
    let mut times = Vec::new();
    for _ in 0..cycles {
        times.push(cycle(&scalers).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queries = prometheus_queries(p) - before;
    println!(
        "\n| {objects} Prometheus triggers, {distinct} distinct queries | queries Prometheus answered per cycle | cycle median ms |"
    );
    println!("|---|---|---|");
    println!(
        "| Prescale (coalesced) | {:.1} | {:.1} |",
        queries as f64 / cycles as f64,
        median(times).as_secs_f64() * 1e3
    );
}
