//! A property of every simulation: whatever the queue does, the bounds, the floor and the pod
//! start-up, the workload stays within `maxReplicaCount`, the HPA minimum never exceeds its
//! maximum, and while a pre-scaling floor holds the target has at least the floor (the
//! operator scales at once when it raises one; the HPA never goes below its minimum).

use chrono::{DateTime, Utc};
use prescale::simulate::engine::Settings;
use prescale::simulate::inputs::SeriesArg;
use prescale::simulate::series::{Recorded, Series};
use prescale::simulate::startup::Startup;
use prescale::validate::load::Loaded;
use proptest::prelude::*;
use std::time::Duration;

fn manifests(min: i32, max: i32, floor: i32, lead_minutes: u32, replicas: i32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: worker, namespace: jobs}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: worker}}}}
  template:
    metadata: {{labels: {{app: worker}}}}
    spec:
      containers: [{{name: worker, image: worker:1}}]
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: worker, namespace: jobs}}
spec:
  scaleTargetRef: {{name: worker}}
  pollingInterval: 15
  cooldownPeriod: 60
  minReplicaCount: {min}
  maxReplicaCount: {max}
  triggers:
    - type: redis
      name: queue
      metadata: {{address: "redis.jobs:6379", listName: jobs, listLength: "10"}}
    - type: schedule
      name: event
      metadata:
        timezone: UTC
        leadTime: {lead_minutes}m
        windows: |
          2026-12-12T01:00/2026-12-12T01:30={floor}
"#
    )
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn replicas_stay_within_bounds_and_floors(
        min in 0i32..3,
        max in 3i32..40,
        floor in 1i32..60,
        lead in 0u32..20,
        start in 0i32..5,
        startup in 0u64..300,
        sync in prop::sample::select(vec![5u64, 15, 30]),
        queue in prop::collection::vec(prop_oneof![Just(0.0), 0f64..400.0], 10..40),
    ) {
        let (from, to) = (at("2026-12-12T00:30:00Z"), at("2026-12-12T02:00:00Z"));
        let mut loaded = Loaded::default();
        loaded.add_text("prop.yaml", &manifests(min, max, floor, lead, start));
        // the queue's length, one value every 3 minutes
        let step = (to - from).num_milliseconds() / queue.len() as i64;
        let points = queue
            .iter()
            .enumerate()
            .map(|(i, v)| (from.timestamp_millis() + i as i64 * step, v.round()))
            .collect();
        let series = vec![SeriesArg {
            key: "queue".into(),
            recorded: Recorded::Values(Series { source: "generated".into(), points }),
            used: false,
        }];
        let settings = Settings {
            from,
            to,
            step: None,
            hpa_sync: Duration::from_secs(sync),
            tolerance: 0.1,
            replicas: None,
            startup: Startup::Fixed(Duration::from_secs(startup)),
            lead: Default::default(),
            keep_points: false,
            job_duration: Duration::from_secs(300),
        };
        let outcomes = prescale::simulate::simulate(&loaded, series, None, &settings, "prescale")
            .map_err(TestCaseError::fail)?
            .scaled_objects;
        let rows = &outcomes[0].track.rows;
        prop_assert!(!rows.is_empty());
        let base_min = min.max(1);
        for r in rows {
            prop_assert!(r.replicas >= 0 && r.replicas <= max, "{r:?}");
            prop_assert!(r.min_replicas <= r.max_replicas, "{r:?}");
            prop_assert!(r.max_replicas <= max, "{r:?}");
            prop_assert!(r.ready <= r.replicas, "{r:?}");
            if r.min_replicas > base_min {
                prop_assert!(r.replicas >= r.min_replicas, "below the floor: {r:?}");
            }
        }
        // the floor (within the bounds) holds across the window
        let wanted = floor.min(max);
        let window = rows
            .iter()
            .filter(|r| r.time >= at("2026-12-12T01:00:00Z") && r.time < at("2026-12-12T01:30:00Z"));
        if wanted > base_min {
            for r in window.chain(prescale_last_before(rows, at("2026-12-12T01:00:00Z"))) {
                prop_assert!(r.min_replicas >= wanted && r.replicas >= wanted, "{r:?}");
            }
        }
    }
}

/// The row in force at `t`.
fn prescale_last_before(
    rows: &[prescale::simulate::record::Row],
    t: DateTime<Utc>,
) -> Option<&prescale::simulate::record::Row> {
    rows.iter().rev().find(|r| r.time <= t)
}
