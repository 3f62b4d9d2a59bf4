//! `prescale validate` over one generated file of many ScaledObjects (each with its
//! Deployment; redis, prometheus and cron triggers in turn), in process through the library:
//! reading and parsing the YAML, every check, and the checks across objects. Prints the time
//! at a quarter, half and the full count, so the growth can be read off (linear: the time per
//! object stays flat).
//!
//! Run: `cargo bench -p prescale-benches --bench validate` (no backend needed).

use prescale::validate::load::Loaded;
use prescale::validate::report::{Options, check_all};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// One run's outcome.
pub struct Run {
    pub objects: usize,
    pub valid: usize,
    pub bytes: usize,
    pub elapsed: Duration,
}

/// `n` ScaledObjects and their Deployments as one multi-document YAML file.
pub fn manifests(n: usize) -> String {
    let mut out = String::with_capacity(n * 700);
    for i in 0..n {
        let ns = format!("team-{}", i % 50);
        let trigger = match i % 3 {
            0 => format!(
                "  - type: redis\n    metadata: {{address: \"redis:6379\", listName: jobs-{i}, listLength: \"10\"}}\n"
            ),
            1 => format!(
                "  - type: prometheus\n    metadata:\n      serverAddress: http://prometheus:9090\n      query: sum(rate(http_requests_total{{app=\"app-{i}\"}}[2m]))\n      threshold: \"50\"\n"
            ),
            _ => "  - type: cron\n    metadata: {timezone: Etc/UTC, start: 0 8 * * *, end: 0 18 * * *, desiredReplicas: \"3\"}\n".to_string(),
        };
        let _ = write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: {ns}}}\n\
             spec:\n  template:\n    spec:\n      containers: [{{name: app, image: app:1}}]\n\
             ---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {{name: app-{i}, namespace: {ns}}}\n\
             spec:\n  scaleTargetRef: {{name: app-{i}}}\n  minReplicaCount: 1\n  maxReplicaCount: 20\n  triggers:\n{trigger}"
        );
    }
    out
}

/// Validates `n` generated ScaledObjects as `prescale validate` does, timing it.
pub fn run(n: usize) -> Run {
    let text = manifests(n);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = Options {
        cluster_object_namespace: "prescale".into(),
        now: chrono::Utc::now(),
        strict: true,
    };
    let start = Instant::now();
    let mut loaded = Loaded::default();
    loaded.add_text("bench.yaml", &text);
    let reports = rt.block_on(check_all(&loaded, &options));
    let elapsed = start.elapsed();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors.first());
    Run {
        objects: reports.len(),
        valid: reports.iter().filter(|r| r.valid).count(),
        bytes: text.len(),
        elapsed,
    }
}

fn main() {
    const N: usize = 20_000;
    println!("| ScaledObjects | file MB | valid | time s | µs per object |");
    println!("|---|---|---|---|---|");
    for n in [N / 4, N / 2, N] {
        let r = run(n);
        println!(
            "| {} | {:.1} | {} | {:.2} | {:.0} |",
            r.objects,
            r.bytes as f64 / 1e6,
            r.valid,
            r.elapsed.as_secs_f64(),
            r.elapsed.as_secs_f64() * 1e6 / r.objects as f64
        );
    }
}
