//! Metrics API latency as the aggregator sees it: the real adapter server
//! (`prescale_metrics_adapter::server`, set up by `prescale_benches::adapter`) over HTTPS with
//! keep-alive and the front-proxy client certificate, on its own runtime and threads
//! (`adapter-server`, 2 workers), driven by a fixed-rate (open-loop) load generator on other
//! threads: request i is sent at `start + i / rate` whatever the answers before it, and every
//! latency goes into an HDR histogram. Then the saturation throughput: 32 requests kept in
//! flight for the same time. Reports p50/p99/p99.9/max, the generator's own lag (how late it
//! sent; a late generator would hide latency), the server threads' CPU and the process's RSS
//! from /proc.
//!
//! Run: `cargo bench -p prescale-benches --bench adapter_latency` (`-- --rate R --seconds S`;
//! defaults 2,000/s for 10 s). `benches/tests/smoke.rs` runs it at 200/s for one second.

use hdrhistogram::Histogram;
use prescale_benches::adapter::{READ, certs, client, serve, tempfile_dir};
use prescale_benches::proc::{rss_kib, threads_cpu};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PATH: &str = "/queue?labelSelector=app%3Dworker";
const SATURATION_WORKERS: usize = 32;

/// One phase's figures (latencies in µs).
pub struct Phase {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    /// How late the generator sent, p99 (open loop only).
    pub lag_p99_us: u64,
    /// CPU of the server's threads per second of the phase, in millicores.
    pub server_mcpu: f64,
}

pub struct Report {
    pub rate: u64,
    pub fixed: Phase,
    pub saturation: Phase,
    pub rss_kib: u64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

async fn get(c: &reqwest::Client, url: &str) -> bool {
    match c
        .get(url)
        .header("X-Remote-User", "system:serviceaccount:kube-system:hpa")
        .send()
        .await
    {
        Ok(res) => res.status().is_success() && res.bytes().await.is_ok(),
        Err(_) => false,
    }
}

fn phase(
    lat: &Histogram<u64>,
    lag: &Histogram<u64>,
    errors: u64,
    seconds: f64,
    cpu: Duration,
) -> Phase {
    Phase {
        requests: lat.len() + errors,
        errors,
        seconds,
        p50_us: lat.value_at_quantile(0.50),
        p99_us: lat.value_at_quantile(0.99),
        p999_us: lat.value_at_quantile(0.999),
        max_us: lat.max(),
        lag_p99_us: lag.value_at_quantile(0.99),
        server_mcpu: cpu.as_secs_f64() * 1000.0 / seconds,
    }
}

/// Sends `rate` requests a second for `seconds`, each at its own time.
async fn open_loop(c: reqwest::Client, url: String, rate: u64, seconds: u64) -> Phase {
    let lat = Arc::new(Mutex::new(histogram()));
    let errors = Arc::new(Mutex::new(0u64));
    let mut lag = histogram();
    let n = rate * seconds;
    let every = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let cpu0 = threads_cpu("adapter-server");
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(n as usize);
    for i in 0..n {
        let due = start + every * i as u32;
        tokio::time::sleep_until(due).await;
        let sent = tokio::time::Instant::now();
        let _ = lag.record((sent - due).as_micros() as u64);
        let (c, url, lat, errors) = (c.clone(), url.clone(), lat.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            if get(&c, &url).await {
                let us = sent.elapsed().as_micros() as u64;
                let _ = lat.lock().unwrap().record(us.max(1));
            } else {
                *errors.lock().unwrap() += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = threads_cpu("adapter-server").saturating_sub(cpu0);
    let lat = lat.lock().unwrap().clone();
    let errors = *errors.lock().unwrap();
    phase(&lat, &lag, errors, secs, cpu)
}

/// Keeps `SATURATION_WORKERS` requests in flight for `seconds`.
async fn closed_loop(c: reqwest::Client, url: String, seconds: u64) -> Phase {
    let cpu0 = threads_cpu("adapter-server");
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..SATURATION_WORKERS)
        .map(|_| {
            let (c, url) = (c.clone(), url.clone());
            tokio::spawn(async move {
                let (mut lat, mut errors) = (histogram(), 0u64);
                while Instant::now() < until {
                    let t = Instant::now();
                    if get(&c, &url).await {
                        let _ = lat.record((t.elapsed().as_micros() as u64).max(1));
                    } else {
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let (mut lat, mut errors) = (histogram(), 0);
    for w in workers {
        let (l, e) = w.await.unwrap();
        lat.add(&l).unwrap();
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = threads_cpu("adapter-server").saturating_sub(cpu0);
    phase(&lat, &histogram(), errors, secs, cpu)
}

/// The fixed-rate phase at `rate`/s, then the saturation phase, `seconds` each.
pub fn run(rate: u64, seconds: u64) -> Report {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("adapter-server")
        .enable_all()
        .build()
        .unwrap();
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile_dir();
    let c = certs();
    let port = server.block_on(serve(&c, &dir, 4096));
    let url = format!("https://localhost:{port}{READ}{PATH}");
    let http = client(&c, true);
    let (fixed, saturation) = load.block_on(async {
        // warm the TLS sessions and the keep-alive pool
        for _ in 0..200 {
            get(&http, &url).await;
        }
        let fixed = open_loop(http.clone(), url.clone(), rate, seconds).await;
        let saturation = closed_loop(http.clone(), url.clone(), seconds).await;
        (fixed, saturation)
    });
    let rss = rss_kib();
    drop(load);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Report {
        rate,
        fixed,
        saturation,
        rss_kib: rss,
    }
}

fn main() {
    let r = run(
        prescale_benches::arg("--rate", 2_000),
        prescale_benches::arg("--seconds", 10),
    );
    println!(
        "| load | requests | errors | achieved/s | p50 µs | p99 µs | p99.9 µs | max µs | generator lag p99 µs | server CPU mCPU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, p) in [
        (format!("fixed {}/s", r.rate), &r.fixed),
        (
            format!("saturation ({SATURATION_WORKERS} in flight)"),
            &r.saturation,
        ),
    ] {
        println!(
            "| {name} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.0} |",
            p.requests,
            p.errors,
            p.requests as f64 / p.seconds,
            p.p50_us,
            p.p99_us,
            p.p999_us,
            p.max_us,
            p.lag_p99_us,
            p.server_mcpu
        );
    }
    println!(
        "\nprocess RSS (server + load generator): {} MiB",
        r.rss_kib / 1024
    );
}
