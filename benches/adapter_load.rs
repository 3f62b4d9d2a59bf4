//! The metrics API under mixed load: the adapter served in-process over HTTPS on 127.0.0.1
//! (certificates generated here) and driven at a target rate for a bounded time with good and
//! bad requests: valid reads, unknown metrics, bad selectors, 40 KiB headers, no client
//! certificate, and slow reads that push the in-flight count over its limit (64 here) so that
//! 429s happen. Prints throughput, latency p50/p99, the status-code mix ("err" = connection
//! closed, as hyper does for an oversized head) and the process's peak RSS (VmHWM) before and
//! after.
//!
//! Run: `cargo bench -p prescale-benches --bench adapter_load` (`-- --rate R --seconds S` to
//! size it; `benches/tests/smoke.rs` runs 200 requests/s for one second as a smoke test).

use prescale_benches::adapter::{READ, certs, client, serve, tempfile_dir};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Workers sending at once; above the server's in-flight limit on purpose.
const WORKERS: usize = 96;
const MAX_IN_FLIGHT: usize = 64;

/// The n-th request of the mix: which client, path and extra header.
fn nth(n: usize) -> (bool, &'static str, Option<String>) {
    match n % 10 {
        0..=3 => (true, "/queue?labelSelector=app%3Dworker", None),
        4 => (true, "/unknown", None),
        5 => (true, "/queue?labelSelector=app%20in%20(", None),
        6 => (true, "/queue", Some("a".repeat(40 * 1024))),
        7 => (false, "/queue", None),
        _ => (true, "/slow", None),
    }
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    codes: BTreeMap<String, u64>,
    /// 40 KiB heads answered with anything but 431 or a closed connection.
    heads_served: u64,
}

async fn worker(
    w: usize,
    every: Duration,
    until: Instant,
    base: String,
    c: [reqwest::Client; 2],
) -> Tally {
    let mut tally = Tally::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n = w;
    while Instant::now() < until {
        tick.tick().await;
        let (identity, path, header) = nth(n);
        let big = header.is_some();
        n += WORKERS;
        let mut req = c[usize::from(identity)]
            .get(format!("{base}{path}"))
            .header("X-Remote-User", "system:serviceaccount:kube-system:hpa");
        if let Some(h) = header {
            req = req.header("X-Big", h);
        }
        let started = Instant::now();
        let code = match req.send().await {
            Ok(res) => {
                let code = res.status().as_u16().to_string();
                let _ = res.bytes().await;
                code
            }
            Err(_) => "err".to_string(),
        };
        tally
            .latencies_us
            .push(started.elapsed().as_micros() as u64);
        if big && code != "431" && code != "err" {
            tally.heads_served += 1;
        }
        *tally.codes.entry(code).or_default() += 1;
    }
    tally
}

/// What one run measured.
pub struct Report {
    pub rate: u64,
    pub requests: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub codes: BTreeMap<String, u64>,
    /// Oversized heads that were served instead of refused.
    pub heads_served: u64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
}

/// Sends about `rate` requests a second for `seconds` seconds to an in-process adapter.
pub fn run(rate: u64, seconds: u64) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rss_before_kib = prescale_benches::peak_rss_kib();
    let dir = tempfile_dir();
    let c = certs();
    let started = Instant::now();
    let tallies = rt.block_on(async {
        let port = serve(&c, &dir, MAX_IN_FLIGHT).await;
        let base = format!("https://localhost:{port}{READ}");
        let every = Duration::from_secs_f64(WORKERS as f64 / rate.max(1) as f64);
        let until = Instant::now() + Duration::from_secs(seconds);
        let clients = [client(&c, false), client(&c, true)];
        let tasks: Vec<_> = (0..WORKERS)
            .map(|w| tokio::spawn(worker(w, every, until, base.clone(), clients.clone())))
            .collect();
        let mut tallies = Vec::new();
        for t in tasks {
            tallies.push(t.await.unwrap());
        }
        tallies
    });
    let elapsed = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    summarize(rate, elapsed, tallies, rss_before_kib)
}

fn summarize(rate: u64, seconds: f64, tallies: Vec<Tally>, rss_before_kib: u64) -> Report {
    let mut latencies: Vec<u64> = tallies
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    let mut codes = BTreeMap::new();
    for (k, v) in tallies.iter().flat_map(|t| t.codes.iter()) {
        *codes.entry(k.clone()).or_default() += v;
    }
    Report {
        rate,
        requests: latencies.len(),
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        codes,
        heads_served: tallies.iter().map(|t| t.heads_served).sum(),
        rss_before_kib,
        rss_after_kib: prescale_benches::peak_rss_kib(),
    }
}

fn main() {
    let r = run(
        prescale_benches::arg("--rate", 10_000),
        prescale_benches::arg("--seconds", 10),
    );
    println!(
        "| target/s | sent | s | achieved/s | p50 ms | p99 ms | codes | 40 KiB heads served | VmHWM before → after |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let codes: Vec<String> = r.codes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!(
        "| {} | {} | {:.1} | {:.0} | {:.1} | {:.1} | {} | {} | {} → {} MiB |",
        r.rate,
        r.requests,
        r.seconds,
        r.requests as f64 / r.seconds,
        r.p50_ms,
        r.p99_ms,
        codes.join(", "),
        r.heads_served,
        r.rss_before_kib / 1024,
        r.rss_after_kib / 1024,
    );
}
