//! `prescale simulate` speed: one simulated week at 15 s poll steps (and 15 s HPA syncs) for
//! 100 ScaledObjects, each with a queue series (one point a minute), a recurring `schedule`
//! floor on weekday evenings and a night cap, through the same stages as the operator and the
//! HPA model. Prints the wall time of the run and its parts (reading the inputs and building
//! the objects; the tick loop), and the simulated steps per second.
//!
//! Run: `cargo bench -p prescale-benches --bench simulate` (`-- --objects N --days D` to size
//! it; `benches/tests/smoke.rs` runs 2 objects for a day as a smoke test).

use chrono::{DateTime, Duration as Days, Utc};
use prescale::simulate::engine::Settings;
use prescale::simulate::inputs::SeriesArg;
use prescale::simulate::series::{Recorded, Series};
use prescale::simulate::startup::Startup;
use prescale::validate::load::Loaded;
use std::time::{Duration, Instant};

fn manifest(i: usize) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: worker-{i}, namespace: bench}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: worker-{i}}}}}
  template:
    metadata: {{labels: {{app: worker-{i}}}}}
    spec:
      containers: [{{name: worker, image: worker:1}}]
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: worker-{i}, namespace: bench}}
spec:
  scaleTargetRef: {{name: worker-{i}}}
  pollingInterval: 15
  cooldownPeriod: 300
  minReplicaCount: 1
  maxReplicaCount: 60
  triggers:
    - type: redis
      name: queue
      metadata: {{address: "redis.bench:6379", listName: jobs-{i}, listLength: "20"}}
    - type: schedule
      name: evening
      metadata:
        timezone: Asia/Shanghai
        leadTime: 10m
        recurring: |
          0 19 * * 1-5 / 0 21 * * 1-5 = {floor}
          0 2 * * * / 0 6 * * * = max:5
"#,
        floor = 10 + i % 20
    )
}

/// A queue that fills in the evening: one point a minute, deterministic.
fn queue(i: usize, from: DateTime<Utc>, days: i64) -> Series {
    let minutes = days * 24 * 60;
    let points = (0..=minutes)
        .map(|m| {
            let t = from.timestamp_millis() + m * 60_000;
            let hour = ((m / 60) % 24) as f64;
            let evening = (-((hour - 11.5) / 1.5).powi(2)).exp();
            let wiggle = ((m as f64 + i as f64 * 7.0) * 0.37).sin().abs();
            (t, (400.0 * evening + 30.0 * wiggle).round())
        })
        .collect();
    Series {
        source: format!("generated queue {i}"),
        points,
    }
}

fn main() {
    let report = run(
        prescale_benches::arg("--objects", 100),
        prescale_benches::arg("--days", 7),
    );
    println!(
        "| objects | days | poll steps | wall time (s) | of it inputs (s) | steps/s | rows | windows |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.0} | {:.3} | {:.3} | {:.0} | {} | {} |",
        report.objects,
        report.days,
        report.steps,
        (report.inputs + report.run).as_secs_f64(),
        report.inputs.as_secs_f64(),
        report.steps / report.run.as_secs_f64(),
        report.rows,
        report.windows,
    );
}

/// What one run measured.
pub struct Report {
    pub objects: usize,
    pub days: i64,
    /// Poll steps simulated (objects × days × 5,760).
    pub steps: f64,
    pub inputs: Duration,
    pub run: Duration,
    pub rows: usize,
    pub windows: usize,
}

/// Simulates `objects` ScaledObjects for `days` days.
pub fn run(objects: usize, days: i64) -> Report {
    let from: DateTime<Utc> = "2026-12-07T00:00:00Z".parse().unwrap();
    let to = from + Days::days(days);

    let built = Instant::now();
    let mut loaded = Loaded::default();
    let mut series = Vec::new();
    for i in 0..objects {
        loaded.add_text(&format!("bench-{i}.yaml"), &manifest(i));
        series.push(SeriesArg {
            key: format!("worker-{i}/queue"),
            recorded: Recorded::Values(queue(i, from, days)),
            used: false,
        });
    }
    let inputs = built.elapsed();
    let settings = Settings {
        from,
        to,
        step: None,
        hpa_sync: Duration::from_secs(15),
        tolerance: 0.1,
        replicas: None,
        startup: Startup::parse("p50=2m,p90=4m").unwrap(),
        lead: Default::default(),
        keep_points: false,
        job_duration: Duration::from_secs(300),
    };
    let started = Instant::now();
    let outcomes = prescale::simulate::simulate(&loaded, series, None, &settings, "prescale")
        .unwrap_or_else(|e| panic!("simulate: {e}"))
        .scaled_objects;
    let run = started.elapsed();
    assert_eq!(outcomes.len(), objects);
    Report {
        objects,
        days,
        steps: objects as f64 * days as f64 * 86_400.0 / 15.0,
        inputs,
        run,
        rows: outcomes.iter().map(|o| o.track.rows.len()).sum(),
        windows: outcomes.iter().map(|o| o.events.len()).sum(),
    }
}
