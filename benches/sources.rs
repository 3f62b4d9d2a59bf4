//! Per-call latency of each source's `sample()` against the raw backend, measured in the same
//! run on the same server, alternating (20 rounds of ours then raw, so drift of the machine
//! hits both alike): a direct client call, and the backend's own load tool where Debian ships
//! one (`redis-benchmark`, `mariadb-slap`). Prints a Markdown table with the ratios. Each
//! `sample()` is a real upstream call: a scaler never gets a shared result twice
//! (`prescale_scalers::coalesce`).
//!
//! Then the cycle figures: many Redis triggers on one server sampled together (pipelined)
//! against the raw client sending the same counts one by one and as one pipeline, and
//! `redis-benchmark -P`; and 1,000 Prometheus triggers over 100 distinct queries sampled
//! together, with the queries Prometheus itself counted.
//!
//! Run: `cargo bench -p prescale-benches --bench sources` (servers from `scripts/setup.sh`).

use mysql_async::prelude::Queryable;
use prescale_scalers::{Context, Scaler, TriggerInput, registry};
use prescale_testkit::mariadb::{DATABASE, MariaDb, PASSWORD, USER};
use prescale_testkit::prometheus::PrometheusServer;
use prescale_testkit::redis::RedisServer;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "sources_cycles.rs"]
mod cycles;

const N: usize = 2000;

struct Stats {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

const ROUNDS: usize = 20;

/// `n` calls of `ours` and of `raw`, alternating in rounds, after a warm-up of both.
async fn alternate<F, Fut, G, Gut>(n: usize, mut ours: F, mut raw: G) -> (Stats, Stats)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
    G: FnMut() -> Gut,
    Gut: std::future::Future<Output = ()>,
{
    for _ in 0..n / 10 {
        ours().await;
        raw().await;
    }
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..ROUNDS {
        for _ in 0..n / ROUNDS {
            let t = Instant::now();
            ours().await;
            a.push(t.elapsed());
        }
        for _ in 0..n / ROUNDS {
            let t = Instant::now();
            raw().await;
            b.push(t.elapsed());
        }
    }
    (stats(a), stats(b))
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let n = samples.len();
    let total: Duration = samples.iter().sum();
    Stats {
        mean: total / n as u32,
        p50: samples[n / 2],
        p99: samples[n * 99 / 100],
    }
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn row(source: &str, ours: &Stats, raw_name: &str, raw: Duration) {
    println!(
        "| {source} | {} | {} | {} | {raw_name} | {} | {:.2} |",
        us(ours.mean),
        us(ours.p50),
        us(ours.p99),
        us(raw),
        ours.mean.as_secs_f64() / raw.as_secs_f64()
    );
}

async fn scaler(ctx: &Context, input: TriggerInput) -> Arc<dyn Scaler> {
    registry::parse(&input)
        .expect("parse")
        .connect(ctx)
        .await
        .expect("connect")
}

/// Mean latency per request from `redis-benchmark` with one client (its own loop, no Rust).
fn redis_benchmark(port: u16) -> Duration {
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-c",
            "1",
            "-n",
            &N.to_string(),
            "--csv",
            "LLEN",
            "jobs",
        ])
        .output()
        .expect("redis-benchmark (redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    // CSV: "test","rps","avg_latency_ms",...
    let line = text
        .lines()
        .find(|l| l.contains("LLEN"))
        .expect("redis-benchmark output");
    let rps: f64 = line
        .split(',')
        .nth(1)
        .and_then(|v| v.trim_matches('"').parse().ok())
        .expect("rps");
    Duration::from_secs_f64(1.0 / rps)
}

/// Mean time per query from `mariadb-slap` with one client.
fn mariadb_slap(db: &MariaDb, query: &str, n: usize) -> Duration {
    let out = Command::new("mariadb-slap")
        .args([
            "-h",
            "127.0.0.1",
            "-P",
            &db.port.to_string(),
            "-u",
            USER,
            &format!("-p{PASSWORD}"),
            "--create-schema",
            DATABASE,
            "--concurrency=1",
            &format!("--number-of-queries={n}"),
            "--iterations=1",
        ])
        .arg(format!("--query={query}"))
        .output()
        .expect("mariadb-slap (mariadb-client)");
    let text = String::from_utf8_lossy(&out.stdout);
    let secs: f64 = text
        .lines()
        .find(|l| l.contains("Average number of seconds to run all queries"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or_else(|| panic!("mariadb-slap output: {text}"));
    Duration::from_secs_f64(secs / n as f64)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ctx = Context {
        default_timeout: Duration::from_secs(5),
        ..Context::default()
    };
    println!("| source | sample() mean µs | p50 µs | p99 µs | raw backend | raw mean µs | ratio |");
    println!("|---|---|---|---|---|---|---|");

    // Redis: LLEN through the scaler's script vs a direct client call vs redis-benchmark
    let r = RedisServer::start();
    r.cli(&["RPUSH", "jobs", "a", "b", "c"]);
    let s = scaler(
        &ctx,
        TriggerInput::new(
            "redis",
            0,
            &[("address", &r.address()), ("listName", "jobs")],
        ),
    )
    .await;
    let client = redis::Client::open(format!("redis://{}", r.address())).expect("client");
    let conn = redis::aio::ConnectionManager::new(client)
        .await
        .expect("conn");
    let (ours, raw) = alternate(
        N,
        || async {
            s.sample().await.expect("sample");
        },
        || {
            let mut c = conn.clone();
            async move {
                let _: i64 = redis::cmd("LLEN")
                    .arg("jobs")
                    .query_async(&mut c)
                    .await
                    .expect("llen");
            }
        },
    )
    .await;
    row("redis", &ours, "redis crate LLEN", raw.mean);
    row(
        "redis",
        &ours,
        "redis-benchmark -c 1 LLEN",
        redis_benchmark(r.port),
    );

    // MySQL: the KEDA e2e query shape
    let db = MariaDb::start();
    let opts = db.client_opts();
    let pool = mysql_async::Pool::new(opts);
    {
        let mut c = pool.get_conn().await.expect("conn");
        c.query_drop(
            "CREATE TABLE task_instance (id INT AUTO_INCREMENT PRIMARY KEY, state VARCHAR(16))",
        )
        .await
        .expect("create");
        c.query_drop(
            "INSERT INTO task_instance (state) VALUES ('running'),('queued'),('done'),('running')",
        )
        .await
        .expect("insert");
    }
    let q = "SELECT CEIL(COUNT(*) / 5) FROM task_instance WHERE state='running' OR state='queued'";
    let s = scaler(
        &ctx,
        TriggerInput::new("mysql", 0, &[("query", q), ("queryValue", "4")])
            .with_auth(&[("connectionString", &db.go_dsn(""))]),
    )
    .await;
    let (ours, raw) = alternate(
        N,
        || async {
            s.sample().await.expect("sample");
        },
        || {
            let pool = pool.clone();
            async move {
                let mut c = pool.get_conn().await.expect("conn");
                let _: Option<f64> = c.query_first(q).await.expect("query");
            }
        },
    )
    .await;
    row("mysql", &ours, "mysql_async query_first", raw.mean);
    row("mysql", &ours, "mariadb-slap -c 1", mariadb_slap(&db, q, N));

    // Prometheus: an instant query vs the same GET with reqwest
    let p = PrometheusServer::start();
    p.exporter.set(3.0);
    p.wait_for_value(3.0);
    let query = "sum(queue_depth)";
    let s = scaler(
        &ctx,
        TriggerInput::new(
            "prometheus",
            0,
            &[
                ("serverAddress", &p.address()),
                ("query", query),
                ("threshold", "1"),
            ],
        ),
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/v1/query?query={}",
        p.address(),
        "sum%28queue_depth%29"
    );
    let (ours, raw) = alternate(
        N,
        || async {
            s.sample().await.expect("sample");
        },
        || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let _ = http
                    .get(url)
                    .send()
                    .await
                    .expect("get")
                    .bytes()
                    .await
                    .expect("body");
            }
        },
    )
    .await;
    row("prometheus", &ours, "reqwest GET same query", raw.mean);
    pool.disconnect().await.expect("disconnect");

    cycles::redis_pipelined(&ctx, &r, prescale_benches::arg("--keys", 200)).await;
    cycles::prometheus_coalesced(&ctx, &p, prescale_benches::arg("--objects", 1000)).await;
}
