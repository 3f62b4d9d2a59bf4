//! A queue series replayed through a ScaledJob with each strategy: the Jobs created per poll
//! are the numbers KEDA's formulas give for the running and pending Jobs of the model.

use super::*;
use crate::simulate::feed::SeriesScaler;
use crate::simulate::series::Series;
use crate::simulate::startup::Startup;
use chrono::TimeZone;
use prescale_scalers::TriggerInput;
use serde_json::{Value, json};
use std::sync::Arc;

const S: i64 = 1000;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap()
}

/// A ScaledJob polling every 10 s, `listLength: 5`, at most 8 Jobs; `extra` merged into spec.
fn scaled_job(extra: Value) -> ScaledJob {
    let mut spec = json!({"jobTargetRef": {"template": {"spec": {"containers": [{"name": "w", "image": "w"}]}}},
        "pollingInterval": 10, "maxReplicaCount": 8,
        "triggers": [{"type": "redis", "metadata": {"address": "r:6379", "listName": "q", "listLength": "5"}}]});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    serde_json::from_value(
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob",
        "metadata": {"name": "importer", "namespace": "q"}, "spec": spec}),
    )
    .unwrap()
}

/// `sj` fed the queue `points` (seconds after t0, length).
fn sim(sj: ScaledJob, points: &[(i64, f64)]) -> SimJob {
    let def = prescale_scalers::registry::parse(&TriggerInput::new(
        "redis",
        0,
        &[
            ("address", "r:6379"),
            ("listName", "q"),
            ("listLength", "5"),
        ],
    ))
    .unwrap();
    let clock = ManualClock::new(t0());
    let series = Series {
        source: "queue.csv".into(),
        points: points
            .iter()
            .map(|(s, v)| (t0().timestamp_millis() + s * S, *v))
            .collect(),
    };
    let scaler = Arc::new(SeriesScaler::new(
        def,
        Arc::new(series),
        Arc::new(clock.clone()),
    ));
    SimJob {
        file: "sj.yaml".into(),
        sj,
        triggers: vec![LiveTrigger {
            index: 0,
            name: String::new(),
            trigger_type: "redis".into(),
            spec: prescale_scalers::Scaler::metric_spec(scaler.as_ref()).clone(),
            scaler,
        }],
        feeds: Vec::new(),
        assumptions: Vec::new(),
        clock,
    }
}

/// Five polls (0 to 40 s); a Job's Pod is Pending 15 s, then runs 20 s.
fn settings() -> Settings {
    Settings {
        from: t0(),
        to: t0() + chrono::Duration::seconds(40),
        step: None,
        hpa_sync: Duration::from_secs(15),
        tolerance: 0.1,
        replicas: None,
        startup: Startup::Fixed(Duration::from_secs(15)),
        lead: Default::default(),
        keep_points: false,
        job_duration: Duration::from_secs(20),
    }
}

/// A case: what, spec additions, the queue (seconds after t0, length), the polls' counts.
type Case<'a> = (&'a str, Value, &'a [(i64, f64)], [(i64, i64, i64); 5]);

/// (running, pending, created) at each poll (a poll without a row repeats the counts before).
fn per_poll(o: &JobOutcome) -> Vec<(i64, i64, i64)> {
    let mut out = Vec::new();
    let mut last = (0, 0);
    for k in 0..5 {
        let t = t0() + chrono::Duration::seconds(10 * k);
        match o.rows.iter().find(|r| r.time == t) {
            Some(r) => {
                last = (r.running, r.pending);
                out.push((r.running, r.pending, r.created));
            }
            None => out.push((last.0, last.1, 0)),
        }
    }
    out
}

#[test]
fn each_strategy_creates_what_kedas_formulas_give() {
    // 23 queued, listLength 5: queueLength (scaleTo) 23, maxScale ceil(23 / 5) = 5;
    // MaxReplicaCount() = 8. Jobs made at t are Pending until t + 15 s, done at t + 35 s.
    let full = [(0, 23.0), (60, 23.0)];
    let rows: &[Case] = &[
        // default: maxScale - running → 5, then 5 - 5 = 0 until the first five finish at 35 s
        (
            "default",
            json!({}),
            &full,
            [(0, 0, 5), (5, 5, 0), (5, 0, 0), (5, 0, 0), (0, 0, 5)],
        ),
        // custom (deduction 1, 0.5 of running): min(5 - 1 - int(r * 0.5), 8)
        // r = 0 → 4, 4 → 2, 6 → 1, 7 → 1, then 4 (the first four done) → 2
        (
            "custom",
            json!({"scalingStrategy": {"strategy": "custom", "customScalingQueueLengthDeduction": 1,
                "customScalingRunningJobPercentage": "0.5"}}),
            &full,
            [(0, 0, 4), (4, 4, 2), (6, 2, 1), (7, 1, 1), (4, 1, 2)],
        ),
        // accurate: maxScale + running > 8 ? 8 - running : maxScale - pending
        // 5 + 0 ≤ 8 → 5; 5 + 5 > 8 → 8 - 5 = 3; 5 + 8 > 8 → 0; 0; 5 + 3 ≤ 8 → 5 - 0 = 5
        (
            "accurate",
            json!({"scalingStrategy": {"strategy": "accurate"}}),
            &full,
            [(0, 0, 5), (5, 5, 3), (8, 3, 0), (8, 0, 0), (3, 0, 5)],
        ),
        // eager: min(8 - running - pending, maxScale), scaleTo 8
        // min(8, 5) = 5; 8 - 5 - 5 < 0 → 0; min(8 - 5 - 0, 5) = 3; 8 - 8 - 3 < 0; min(5, 5) = 5
        (
            "eager",
            json!({"scalingStrategy": {"strategy": "eager"}}),
            &full,
            [(0, 0, 5), (5, 5, 0), (5, 0, 3), (8, 3, 0), (3, 0, 5)],
        ),
        // the queue empties at 40 s: inactive, nothing created although nothing runs
        (
            "default, queue empty at 40 s",
            json!({}),
            &[(0, 23.0), (40, 0.0)],
            [(0, 0, 5), (5, 5, 0), (5, 0, 0), (5, 0, 0), (0, 0, 0)],
        ),
        // minReplicaCount 2 with an empty queue: active, the two missing Jobs made up
        (
            "default, minReplicaCount 2, empty",
            json!({"minReplicaCount": 2}),
            &[(0, 0.0)],
            [(0, 0, 2), (2, 2, 0), (2, 0, 0), (2, 0, 0), (0, 0, 2)],
        ),
    ];
    for (what, extra, points, want) in rows {
        let o = run(sim(scaled_job(extra.clone()), points), &settings());
        assert_eq!(per_poll(&o), want.to_vec(), "{what}: {:#?}", o.rows);
        let created: i64 = want.iter().map(|w| w.2).sum();
        assert_eq!(o.totals.jobs_created, created as u64, "{what}");
    }
}

#[test]
fn rows_carry_the_strategy_inputs_and_the_operators_events() {
    let o = run(
        sim(scaled_job(json!({})), &[(0, 23.0), (40, 0.0)]),
        &settings(),
    );
    let first = &o.rows[0];
    assert_eq!(first.values, [Some(23.0)]);
    assert_eq!((first.queue_length, first.max_scale), (23, 5));
    assert_eq!(
        first.events,
        ["KEDAJobsCreated: Created 5 jobs", "ScaledJobActive"]
    );
    let last = o.rows.last().unwrap();
    assert_eq!(last.time, t0() + chrono::Duration::seconds(40));
    assert!(!last.active);
    assert_eq!(last.events, ["ScaledJobInactive"]);
    assert_eq!(o.totals.peak_running, 5);
    assert_eq!(o.totals.peak_pending, 5);
    // five Jobs ran 20 s each
    assert!(
        (o.totals.job_hours - 100.0 / 3600.0).abs() < 1e-9,
        "{}",
        o.totals.job_hours
    );
}

#[test]
fn a_paused_scaledjob_creates_nothing() {
    let mut sj = scaled_job(json!({}));
    sj.metadata.annotations =
        Some([("autoscaling.keda.sh/paused".to_string(), "true".to_string())].into());
    let o = run(sim(sj, &[(0, 23.0)]), &settings());
    assert_eq!(o.totals.jobs_created, 0);
    assert!(o.rows.iter().all(|r| !r.active && r.created == 0));
}
