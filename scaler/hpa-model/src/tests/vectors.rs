//! kubernetes.md §B.6, one test per vector, each sub-case asserted.

use super::*;

fn one(spec: &HpaSpec, obs: &Observation) -> Outcome {
    sync(
        spec,
        &ControllerConfig::default(),
        &History::default(),
        0,
        obs,
    )
    .0
}

fn proposal(o: &Outcome, i: usize) -> &Proposal {
    o.proposals[i].as_ref().expect("a proposal")
}

/// 1. Docs: 200m vs 100m doubles, 50m halves, ratios within 0.9–1.1 change nothing.
#[test]
fn v1_docs_double_halve_and_band() {
    let avg = spec(1, 100, vec![average("m", 100)], None);
    // 4 pods averaging 200m → sum 800m
    assert_eq!(proposal(&one(&avg, &settled(4, &[800])), 0).replicas, 8);
    // 4 pods averaging 50m → sum 200m
    assert_eq!(proposal(&one(&avg, &settled(4, &[200])), 0).replicas, 2);
    let val = spec(1, 100, vec![value("m", 100)], None);
    assert_eq!(proposal(&one(&val, &settled(4, &[200])), 0).replicas, 8);
    assert_eq!(proposal(&one(&val, &settled(4, &[50])), 0).replicas, 2);
    // 20 pods, target 100m each: 0.9 and 1.1 are inside the band, just outside is not
    for (sum, within, replicas) in [
        (1800, true, 20),
        (2000, true, 20),
        (2200, true, 20),
        (1780, false, 18),
        (2220, false, 23),
    ] {
        let o = one(&avg, &settled(20, &[sum]));
        let p = proposal(&o, 0);
        assert_eq!(
            (p.within_tolerance, p.replicas),
            (within, replicas),
            "sum {sum}"
        );
    }
    assert!(one(&avg, &settled(20, &[2220])).rescale);
    assert!(!one(&avg, &settled(20, &[2200])).rescale);
    // The halving goes through when nothing stabilises it.
    let halve = spec(
        1,
        100,
        vec![average("m", 100)],
        Some(down_rules(0, vec![Policy::percent(100, 15)], None)),
    );
    let o = one(&halve, &settled(4, &[200]));
    assert_eq!(
        (o.desired_replicas, o.reason),
        (2, Reason::DesiredWithinRange)
    );
}

/// 2. Value target × ready pods (not spec), then the legacy doubling clamp.
#[test]
fn v2_value_uses_ready_pods_then_legacy_clamp() {
    let s = spec(1, 50, vec![value("m", 100_000)], None);
    let obs = Observation {
        spec_replicas: 10,
        status_replicas: 10,
        ready_pods: Some(8),
        metrics: vec![Ok(vec![200_000, 100_000])],
    };
    let o = one(&s, &obs);
    let p = proposal(&o, 0);
    assert_eq!((p.usage, p.ratio, p.replicas), (300_000, 3.0, 24));
    assert_eq!(o.raw, Some(24));
    assert_eq!((o.desired_replicas, o.reason), (20, Reason::ScaleUpLimit));
    assert!(o.scaling_limited && o.rescale);
}

/// 3. `TestHPAWithTolerance`: per-direction tolerances on an AverageValue metric.
#[test]
fn v3_configurable_tolerance_sequence() {
    let plain = spec(1, 100, vec![average("m", 100)], None);
    let o = one(&plain, &settled(35, &[3700]));
    assert!((proposal(&o, 0).ratio - 1.057).abs() < 0.001);
    assert_eq!((o.desired_replicas, o.rescale), (35, false));

    let rules = |t: f64, window: Option<i32>| ScalingRules {
        tolerance: Some(t),
        stabilization_window_seconds: window,
        ..ScalingRules::default()
    };
    let behavior = Behavior {
        scale_up: Some(rules(0.05, None)),
        scale_down: Some(rules(0.5, Some(0))),
    };
    let mut hpa = Hpa::new(
        spec(1, 100, vec![average("m", 100)], Some(behavior)),
        ControllerConfig::default(),
    );
    let seq = [
        (35, 3500, 35),
        (35, 3700, 37),
        (37, 3800, 37),
        (37, 1000, 10),
        (10, 800, 10),
    ];
    for (i, (replicas, sum, want)) in seq.into_iter().enumerate() {
        let o = hpa.sync(i as i64 * TICK_MS, &settled(replicas, &[sum]));
        assert_eq!(
            o.desired_replicas, want,
            "step {i}: {sum} over {replicas} pods"
        );
    }
    // without the gate the flag's 0.1 applies to both directions
    let gated = ControllerConfig {
        configurable_tolerance: false,
        ..ControllerConfig::default()
    };
    let (o, _) = sync(
        &hpa.spec,
        &gated,
        &History::default(),
        0,
        &settled(35, &[3700]),
    );
    assert_eq!(o.desired_replicas, 35);
}

/// 4. Floors served as AverageValue metrics stall inside the tolerance band.
#[test]
fn v4_floor_metrics_stall_in_the_band() {
    // KEDA cron (#5263): target 1, value 89 over 88 pods → stuck at 88
    let mut cron = Hpa::new(
        spec(1, 200, vec![average("cron", 1000)], None),
        ControllerConfig::default(),
    );
    assert_eq!(
        steps(&follow(&mut cron, 88, 8, |_, _| vec![89_000])),
        vec![88]
    );
    // Zalando (#374): target 833, 9000 → 11; then 10 000 over 11 pods (1.091) → stuck at 11
    let mut z = Hpa::new(
        spec(1, 100, vec![average("z", 833_000)], None),
        ControllerConfig::default(),
    );
    let seq = follow(&mut z, 6, 6, |_, t| {
        vec![if t == 0 { 9_000_000 } else { 10_000_000 }]
    });
    assert_eq!(seq, vec![11; 6]);
    // Crane cron (#836): 24 wanted over 22 pods (1.0909) → stuck at 22
    let mut crane = Hpa::new(
        spec(1, 100, vec![average("c", 1000)], None),
        ControllerConfig::default(),
    );
    assert_eq!(
        steps(&follow(&mut crane, 22, 4, |_, _| vec![24_000])),
        vec![22]
    );
}

/// 5. Ratio exactly 1.1: scales before 1.33, holds on 1.33+.
#[test]
fn v5_upper_edge_old_and_new_test() {
    let s = spec(1, 100, vec![value("m", 10_000)], None);
    let new = one(&s, &settled(4, &[11_000]));
    assert_eq!(proposal(&new, 0).ratio, 1.1);
    assert!(proposal(&new, 0).within_tolerance);
    assert_eq!(new.desired_replicas, 4);
    let old_config = ControllerConfig {
        legacy_tolerance_test: true,
        ..ControllerConfig::default()
    };
    let (old, _) = sync(
        &s,
        &old_config,
        &History::default(),
        0,
        &settled(4, &[11_000]),
    );
    assert!(!proposal(&old, 0).within_tolerance);
    assert_eq!(old.desired_replicas, 5); // ceil(1.1 × 4)
}

/// 6. Scale-up from 3 to 50: default behavior vs the legacy clamp.
#[test]
fn v6_default_behavior_and_legacy_scale_up() {
    let m = || vec![average("m", 1000)];
    let mut b = Hpa::new(
        spec(1, 100, m(), Some(Behavior::default())),
        ControllerConfig::default(),
    );
    assert_eq!(
        steps(&follow(&mut b, 3, 6, |_, _| vec![50_000])),
        vec![7, 14, 28, 50]
    );
    let mut legacy = Hpa::new(spec(1, 100, m(), None), ControllerConfig::default());
    assert_eq!(
        steps(&follow(&mut legacy, 3, 7, |_, _| vec![50_000])),
        vec![6, 12, 24, 48, 50]
    );
    // every step but the last was limited, each by its own rule
    let mut b = Hpa::new(
        spec(1, 100, m(), Some(Behavior::default())),
        ControllerConfig::default(),
    );
    let o = b.sync(0, &settled(3, &[50_000]));
    assert_eq!((o.limited, o.reason), (7, Reason::ScaleUpLimit));
}

/// 7. The docs' scale-down policies [Pods 4 / 60 s, Percent 10 / 60 s], Max, from 80.
#[test]
fn v7_docs_scale_down_policies() {
    let b = down_rules(
        0,
        vec![Policy::pods(4, 60), Policy::percent(10, 60)],
        Some(SelectPolicy::Max),
    );
    let mut hpa = Hpa::new(
        spec(1, 100, vec![average("m", 1000)], Some(b)),
        ControllerConfig::default(),
    );
    let seq = follow(&mut hpa, 80, 14 * 4, |_, _| vec![10_000]);
    // one step per 60 s period: the first −8 (10 %), then 64.8 truncated to 64, …; from 28
    // down the Pods policy (−4) is the larger cut
    let per_period: Vec<i32> = seq.iter().step_by(4).copied().collect();
    assert_eq!(
        per_period,
        vec![72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16, 12, 10]
    );
    // within a period the count holds
    assert_eq!(&seq[0..4], &[72, 72, 72, 72]);
    let o = hpa.sync(14 * 4 * TICK_MS, &settled(10, &[10_000]));
    assert_eq!(o.desired_replicas, 10);
}

/// 8. A new HPA seeds a recommendation of the current 10: it holds for the 300 s window.
#[test]
fn v8_new_hpa_holds_for_the_down_window() {
    let m = || vec![average("m", 1000)];
    // behavior (defaulted): the seed at t=0 is out of the window at t=300 (strictly newer)
    let mut b = Hpa::new(
        spec(1, 20, m(), Some(Behavior::default())),
        ControllerConfig::default(),
    );
    let seq = follow(&mut b, 10, 22, |_, _| vec![2_000]);
    assert_eq!(&seq[..20], &[10; 20]); // t = 0 … 285 s
    assert_eq!(seq[20], 2); // t = 300 s, one step (100 % per 15 s)
    // legacy: a record exactly at the cutoff still counts, so it drops one sync later
    let mut legacy = Hpa::new(spec(1, 20, m(), None), ControllerConfig::default());
    let seq = follow(&mut legacy, 10, 23, |_, _| vec![2_000]);
    assert_eq!(&seq[..21], &[10; 21]); // t = 0 … 300 s
    assert_eq!(seq[21], 2);
    let mut fresh = Hpa::new(spec(1, 20, m(), None), ControllerConfig::default());
    let o = fresh.sync(0, &settled(10, &[2_000]));
    assert_eq!((o.raw, o.stabilized), (Some(2), 10));
    assert_eq!(o.able_to_scale_reason, SCALE_DOWN_STABILIZED);
}

/// 9. One metric errors: no scale-down on partial data, scale-up allowed.
#[test]
fn v9_partial_errors() {
    let s = spec(
        1,
        100,
        vec![average("ok", 1000), average("broken", 1000)],
        None,
    );
    let obs = |v: Milli| Observation {
        metrics: vec![Ok(vec![v]), Err("adapter down".into())],
        ..settled(5, &[])
    };
    let fewer = one(&s, &obs(3_000));
    assert_eq!((fewer.desired_replicas, fewer.rescale), (5, false));
    assert_eq!(fewer.reason, Reason::FailedGetExternalMetric);
    assert!(!fewer.scaling_active);
    assert!(
        fewer
            .message
            .contains("failed to get broken external metric: adapter down")
    );
    let more = one(&s, &obs(8_000));
    assert_eq!((more.desired_replicas, more.scaling_active), (8, true));
    let same = one(&s, &obs(5_000));
    assert!(same.scaling_active && !same.rescale);
}

/// 10. `items: []` is an error, not zero.
#[test]
fn v10_empty_items_are_an_error() {
    let s = spec(1, 100, vec![value("m", 1000)], None);
    let obs = Observation {
        metrics: vec![Ok(vec![])],
        ..settled(5, &[])
    };
    let o = one(&s, &obs);
    let err = o.proposals[0].as_ref().expect_err("no proposal");
    assert!(
        err.contains("no metrics returned from external metrics API"),
        "{err}"
    );
    assert_eq!(
        (o.desired_replicas, o.scaling_active, o.raw),
        (5, false, None)
    );
    assert_eq!(o.reason, Reason::FailedGetExternalMetric);
}
