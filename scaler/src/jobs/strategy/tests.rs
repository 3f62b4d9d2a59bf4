//! KEDA's own vectors for the ScaledJob numbers.
use super::*;

fn custom(deduction: i64, percentage: f64) -> Strategy {
    Strategy::Custom {
        deduction,
        percentage,
    }
}

/// KEDA's scale_jobs_test.go vectors: GetEffectiveMaxScale(maxScale, running, pending,
/// maxReplicaCount, scaleTo) → (maxScale, scaleTo).
#[test]
fn keda_strategy_vectors() {
    let rows: &[(Strategy, [i64; 5], (i64, i64))] = &[
        (Strategy::Default, [3, 2, 0, 5, 1], (1, 1)),
        (Strategy::Default, [2, 0, 0, 5, 1], (2, 1)),
        (custom(1, 0.5), [3, 2, 0, 5, 1], (1, 1)),
        (custom(1, 0.5), [10, 0, 0, 10, 1], (9, 1)),
        (custom(2, 0.0), [3, 2, 0, 5, 1], (1, 1)),
        (custom(-2, 0.0), [3, 2, 0, 4, 1], (4, 1)),
        (Strategy::Accurate, [3, 2, 0, 5, 1], (3, 1)),
        (Strategy::Accurate, [5, 2, 0, 5, 1], (3, 1)),
        (Strategy::Accurate, [3, 4, 2, 10, 1], (1, 1)),
        (Strategy::Accurate, [5, 4, 2, 5, 1], (1, 1)),
        (Strategy::Eager, [4, 3, 0, 10, 1], (4, 10)),
        (Strategy::Eager, [4, 0, 3, 10, 1], (4, 10)),
        (Strategy::Eager, [4, 7, 0, 10, 1], (3, 10)),
        (Strategy::Eager, [4, 1, 6, 10, 1], (3, 10)),
        (Strategy::Eager, [15, 0, 0, 10, 1], (10, 10)),
    ];
    for (s, [max_scale, running, pending, max_rc, scale_to], want) in rows {
        assert_eq!(
            s.effective_max_scale(*max_scale, *running, *pending, *max_rc, *scale_to),
            *want,
            "{s:?} {max_scale} {running} {pending} {max_rc} {scale_to}"
        );
    }
}

/// KEDA's TestNewNewScalingStrategy / TestCustomScalingStrategy selection rules.
#[test]
fn strategy_selection() {
    let s = |strategy: &str, deduction: Option<i32>, pct: &str| {
        Strategy::from_spec(&JobScalingStrategy {
            strategy: strategy.into(),
            custom_scaling_queue_length_deduction: deduction,
            custom_scaling_running_job_percentage: pct.into(),
            ..Default::default()
        })
    };
    assert_eq!(s("custom", Some(10), "0"), custom(10, 0.0));
    assert_eq!(s("accurate", Some(0), "0"), Strategy::Accurate);
    assert_eq!(s("eager", None, ""), Strategy::Eager);
    assert_eq!(s("default", None, ""), Strategy::Default);
    assert_eq!(s("", None, ""), Strategy::Default);
    assert_eq!(s("bogus", None, ""), Strategy::Default);
    // an empty (unparsable) percentage means the default strategy
    assert_eq!(s("custom", Some(1), ""), Strategy::Default);
    assert_eq!(s("custom", None, ""), Strategy::Default);
    // nil deduction + nil percentage behaves like default
    let d = s("custom", None, "");
    assert_eq!(d.effective_max_scale(3, 2, 0, 5, 1).0, 1);
    assert_eq!(d.effective_max_scale(2, 0, 0, 5, 1).0, 2);
}

/// KEDA's TestIsScaledJobActive vectors: four triggers (queueLength, averageValue target,
/// active) = (20,1,T) (10,2,T) (5,3,T) (7,4,F).
#[test]
fn keda_multiple_scalers_vectors() {
    let reading = |max_rc: i64| {
        [
            (20.0, 1.0, true),
            (10.0, 2.0, true),
            (5.0, 3.0, true),
            (7.0, 4.0, false),
        ]
        .map(|(q, t, a)| ScalerMetrics::from_reading(q, Some(t), a, max_rc))
    };
    let rows: &[(&str, i64, Combined)] = &[
        (
            "max",
            100,
            Combined {
                is_active: true,
                queue_length: 20,
                max_value: 20,
            },
        ),
        (
            "min",
            100,
            Combined {
                is_active: true,
                queue_length: 5,
                max_value: 2,
            },
        ),
        (
            "avg",
            100,
            Combined {
                is_active: true,
                queue_length: 12,
                max_value: 9,
            },
        ),
        (
            "sum",
            100,
            Combined {
                is_active: true,
                queue_length: 35,
                max_value: 27,
            },
        ),
        (
            "sum",
            25,
            Combined {
                is_active: true,
                queue_length: 35,
                max_value: 25,
            },
        ),
    ];
    for (calc, max_rc, want) in rows {
        assert_eq!(
            combine(&reading(*max_rc), calc, 0, *max_rc),
            *want,
            "{calc} {max_rc}"
        );
    }
    // a single active trigger: 20 with target 2 → maxValue 10
    let one = [ScalerMetrics::from_reading(20.0, Some(2.0), true, 100)];
    assert_eq!(
        combine(&one, "", 0, 100),
        Combined {
            is_active: true,
            queue_length: 20,
            max_value: 10
        }
    );
    // inactive only
    let none = [ScalerMetrics::from_reading(0.0, Some(2.0), false, 100)];
    assert_eq!(
        combine(&none, "", 0, 100),
        Combined {
            is_active: false,
            queue_length: 0,
            max_value: 0
        }
    );
    // empty queue but minReplicaCount 1 → active with 0/0
    let empty = [ScalerMetrics::from_reading(0.0, Some(1.0), true, 100)];
    assert_eq!(
        combine(&empty, "", 1, 100),
        Combined {
            is_active: true,
            queue_length: 0,
            max_value: 0
        }
    );
    // no AverageValue target → maxValue 0
    assert_eq!(
        ScalerMetrics::from_reading(9.0, None, true, 100).max_value,
        0.0
    );
}

/// KEDA's getScalingDecision tests with minReplicaCount, and the createJobs cap.
#[test]
fn decisions_with_min_replicas_and_the_issue_example() {
    let inputs = |min: i64, running: i64, scale_to: i64, max_scale: i64| Inputs {
        strategy: Strategy::Default,
        min_replicas: min,
        max_replicas: 100 - min,
        running,
        pending: 0,
        combined: Combined {
            is_active: true,
            queue_length: scale_to,
            max_value: max_scale,
        },
    };
    assert_eq!(scaling_decision(&inputs(2, 0, 0, 0)), (2, 2));
    assert_eq!(scaling_decision(&inputs(2, 1, 0, 0)), (1, 1));
    assert_eq!(scaling_decision(&inputs(1, 1, 2, 2)), (2, 2));
    // the issue: 23 items, listLength 5 → ceil(23/5) = 5 Jobs, then none while they run
    let m = [ScalerMetrics::from_reading(23.0, Some(5.0), true, 100)];
    let c = combine(&m, "max", 0, 100);
    assert_eq!((c.queue_length, c.max_value), (23, 5));
    let mut i = Inputs {
        strategy: Strategy::Default,
        min_replicas: 0,
        max_replicas: 100,
        running: 0,
        pending: 0,
        combined: c,
    };
    assert_eq!(jobs_to_create(&i), 5);
    i.running = 5;
    assert_eq!(jobs_to_create(&i), 0);
    i.running = 3;
    assert_eq!(jobs_to_create(&i), 2);
    // maxReplicaCount 3 caps it
    let c3 = combine(
        &[ScalerMetrics::from_reading(23.0, Some(5.0), true, 3)],
        "max",
        0,
        3,
    );
    let i3 = Inputs {
        max_replicas: 3,
        running: 0,
        combined: c3,
        ..i
    };
    assert_eq!(jobs_to_create(&i3), 3);
    // eager fills up to maxReplicaCount whatever the queue says
    let ie = Inputs {
        strategy: Strategy::Eager,
        max_replicas: 10,
        running: 2,
        pending: 1,
        combined: Combined {
            is_active: true,
            queue_length: 1,
            max_value: 4,
        },
        ..i
    };
    assert_eq!(jobs_to_create(&ie), 4);
    // inactive: nothing
    let idle = Inputs {
        combined: Combined {
            is_active: false,
            queue_length: 0,
            max_value: 0,
        },
        ..i
    };
    assert_eq!(jobs_to_create(&idle), 0);
}
