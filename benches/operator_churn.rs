//! Memory under churn: N ScaledObjects in place (`operator_steady`'s set-up: the real
//! `prescale run` process in front of the API stand-in, real backends with `--mix mixed`), then
//! for `--minutes` minutes a loop replaces and updates them: every second `--rate` objects are
//! deleted (ScaledObject and Deployment), `--rate` new ones (new names) created, and `--rate`
//! live ones updated (their trigger's threshold changes, so the operator rebuilds their poll
//! loop and HPA). At the end the population is N again; once every object has its HPA and is
//! Ready, the operator's RSS is compared with its RSS before the churn.
//!
//! Run: `cargo build --release -p prescale && cargo bench -p prescale-benches --bench
//! operator_churn -- --objects 10000 --minutes 10 --rate 10`

#[path = "operator_steady.rs"]
#[allow(dead_code)]
pub mod operator_steady;

use operator_steady::{Running, objects};
use prescale_benches::arg;
use prescale_benches::proc::{cpu_of, rss_of};
use serde_json::json;
use std::time::{Duration, Instant};

/// What one run measured.
pub struct Report {
    pub objects: usize,
    pub setup: Duration,
    pub rss_before_mib: f64,
    pub rss_after_mib: f64,
    pub peak_mib: f64,
    pub created: usize,
    pub deleted: usize,
    pub updated: usize,
    pub settle: Duration,
    pub mcpu: f64,
}

/// One churn second: delete the `rate` oldest objects, create `rate` new ones after the
/// newest, update `rate` live ones in between (a new threshold).
fn churn_step(r: &Running, oldest: &mut usize, next: &mut usize, rate: usize, round: usize) {
    let b = r.backends();
    for i in *oldest..*oldest + rate {
        let name = format!("app-{i}");
        r.api
            .delete("keda.sh/v1alpha1", "ScaledObject", "bench", &name);
        r.api.delete("apps/v1", "Deployment", "bench", &name);
    }
    *oldest += rate;
    objects(&r.api, *next..*next + rate, b);
    *next += rate;
    let live = *next - *oldest;
    for k in 0..rate.min(live) {
        let i = *oldest + (round * rate + k * 7919) % live;
        let name = format!("app-{i}");
        if let Some(mut so) = r
            .api
            .get("keda.sh/v1alpha1", "ScaledObject", "bench", &name)
        {
            so["spec"]["maxReplicaCount"] = json!(100 + round % 50);
            // the spec only (a status in the body would be written back as well)
            so.as_object_mut().map(|o| o.remove("status"));
            r.api.put(so);
        }
    }
}

pub async fn run(n: usize, mixed: bool, minutes: f64, rate: usize, qps: f64) -> Report {
    let mut r = Running::start(n, mixed, qps).await;
    // every loop polled once, the allocator at its working size
    tokio::time::sleep(Duration::from_secs(35).min(r.setup)).await;
    let (before, _) = rss_of(r.pid);
    let cpu0 = cpu_of(r.pid);
    let t0 = Instant::now();
    let (mut oldest, mut next, mut round) = (0, n, 0);
    let end = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    while Instant::now() < end {
        let tick = Instant::now();
        churn_step(&r, &mut oldest, &mut next, rate, round);
        round += 1;
        tokio::time::sleep(Duration::from_secs(1).saturating_sub(tick.elapsed())).await;
    }
    let settling = Instant::now();
    r.settle(n, Duration::from_secs(1800)).await;
    let settle = settling.elapsed();
    let mcpu = (cpu_of(r.pid) - cpu0).as_secs_f64() / t0.elapsed().as_secs_f64() * 1000.0;
    // the deleted objects' loops and caches are gone: a polling interval for the last ones
    tokio::time::sleep(Duration::from_secs(35).min(r.setup)).await;
    let (after, peak) = rss_of(r.pid);
    Report {
        objects: n,
        setup: r.setup,
        rss_before_mib: before as f64 / 1024.0,
        rss_after_mib: after as f64 / 1024.0,
        peak_mib: peak as f64 / 1024.0,
        created: next - n,
        deleted: oldest,
        updated: round * rate,
        settle,
        mcpu,
    }
}

#[allow(dead_code)]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = arg("--objects", 1000);
    let mix: String = arg("--mix", "mixed".to_string());
    let minutes: f64 = arg("--minutes", 10.0);
    let rate: usize = arg("--rate", 10);
    let qps: f64 = arg("--qps", 200.0);
    let r = run(n, mix == "mixed", minutes, rate, qps).await;
    println!(
        "| objects | mix | minutes | created / deleted / updated | RSS before churn | RSS after (settled) | change | peak RSS | settle after churn | average CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {mix} | {minutes} | {} / {} / {} | {:.1} MiB | {:.1} MiB | {:+.1} % | {:.1} MiB | {:.1} s | {:.1} mCPU |",
        r.objects,
        r.created,
        r.deleted,
        r.updated,
        r.rss_before_mib,
        r.rss_after_mib,
        (r.rss_after_mib / r.rss_before_mib - 1.0) * 100.0,
        r.peak_mib,
        r.settle.as_secs_f64(),
        r.mcpu,
    );
}
