//! Table tests of the behavior rate limits (policies, periods, selectPolicy, bounds), the
//! legacy clamp, and how scale events are stored.

use super::*;
use crate::behavior::Resolved;
use crate::limits;

const NOW_MS: i64 = 1_000_000;

fn rules(up: Option<ScalingRules>, down: Option<ScalingRules>) -> Resolved {
    Resolved::new(
        &Behavior {
            scale_up: up,
            scale_down: down,
        },
        &ControllerConfig::default(),
    )
}

fn policies(select: Option<SelectPolicy>, list: Vec<Policy>) -> Option<ScalingRules> {
    Some(ScalingRules {
        select_policy: select,
        policies: Some(list),
        ..ScalingRules::default()
    })
}

/// Events as (seconds ago, change).
fn events(up: &[(i64, i32)], down: &[(i64, i32)]) -> History {
    let list = |v: &[(i64, i32)]| {
        v.iter()
            .map(|&(ago, change)| ScaleEvent {
                at_ms: NOW_MS - ago * 1000,
                change,
            })
            .collect()
    };
    History {
        recommendations: vec![],
        scale_up_events: list(up),
        scale_down_events: list(down),
    }
}

#[test]
fn behavior_rate_limits() {
    use Reason::*;
    use SelectPolicy::{Disabled, Min};
    let none = || events(&[], &[]);
    // (name, rules, history, current, desired, (min, max), want)
    type Case = (
        &'static str,
        Resolved,
        History,
        i32,
        i32,
        (i32, i32),
        (i32, Reason),
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("default up: Pods +4 beats doubling from 3", rules(None, None), none(), 3, 50, (1, 100), (7, ScaleUpLimit)),
        ("default up, Min: doubling", rules(policies(Some(Min), vec![Policy::pods(4, 15), Policy::percent(100, 15)]), None), none(), 3, 50, (1, 100), (6, ScaleUpLimit)),
        ("up Disabled holds", rules(policies(Some(Disabled), vec![Policy::pods(4, 15)]), None), none(), 3, 50, (1, 100), (3, ScaleUpLimit)),
        ("up within the limit", rules(None, None), none(), 10, 12, (1, 100), (12, DesiredWithinRange)),
        ("max tighter than the rate", rules(None, None), none(), 3, 50, (1, 5), (5, TooManyReplicas)),
        ("Percent up rounds up", rules(policies(None, vec![Policy::percent(10, 15)]), None), none(), 3, 50, (1, 100), (4, ScaleUpLimit)),
        ("Pods used up within the period", rules(policies(None, vec![Policy::pods(4, 60)]), None), events(&[(30, 4)], &[]), 7, 50, (1, 100), (7, ScaleUpLimit)),
        ("an event exactly one period ago is out", rules(policies(None, vec![Policy::pods(4, 60)]), None), events(&[(60, 4)], &[]), 7, 50, (1, 100), (11, ScaleUpLimit)),
        ("scale-downs in the period raise periodStart", rules(policies(None, vec![Policy::percent(50, 60)]), None), events(&[], &[(10, 2)]), 10, 50, (1, 100), (18, ScaleUpLimit)),
        ("default down: 100 % per 15 s, bounded by min", rules(None, None), none(), 10, 0, (1, 100), (1, TooFewReplicas)),
        ("default down within", rules(None, None), none(), 10, 2, (1, 100), (2, DesiredWithinRange)),
        ("Pods down", rules(None, policies(None, vec![Policy::pods(1, 60)])), none(), 10, 2, (1, 100), (9, ScaleDownLimit)),
        ("down Max: the largest cut", rules(None, policies(None, vec![Policy::pods(1, 60), Policy::percent(50, 60)])), none(), 10, 2, (1, 100), (5, ScaleDownLimit)),
        ("down Min: the smallest cut", rules(None, policies(Some(Min), vec![Policy::pods(1, 60), Policy::percent(50, 60)])), none(), 10, 2, (1, 100), (9, ScaleDownLimit)),
        ("down Disabled holds", rules(None, policies(Some(Disabled), vec![Policy::pods(1, 60)])), none(), 10, 2, (1, 100), (10, ScaleDownLimit)),
        ("min tighter than the rate", rules(None, policies(None, vec![Policy::percent(50, 60)])), none(), 10, 2, (6, 100), (6, TooFewReplicas)),
        ("Percent down truncates", rules(None, policies(None, vec![Policy::percent(10, 60)])), none(), 15, 2, (1, 100), (13, ScaleDownLimit)),
        ("scale-ups in the period lower periodStart", rules(None, policies(None, vec![Policy::percent(50, 60)])), events(&[(10, 4)], &[]), 10, 2, (1, 100), (3, ScaleDownLimit)),
        ("used-up down period holds", rules(None, policies(None, vec![Policy::pods(2, 60)])), events(&[], &[(20, 2)]), 8, 2, (1, 100), (8, ScaleDownLimit)),
        ("no change is within range", rules(None, None), none(), 5, 5, (1, 100), (5, DesiredWithinRange)),
    ];
    for (name, r, h, current, desired, bounds, want) in cases {
        assert_eq!(
            limits::with_behavior(&r, &h, current, desired, bounds, NOW_MS),
            want,
            "{name}"
        );
    }
}

#[test]
fn legacy_clamp() {
    use Reason::*;
    // (name, current, desired, min, max, want)
    type Case = (&'static str, i32, i32, i32, i32, (i32, Reason));
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("within", 5, 7, 1, 100, (7, DesiredWithinRange)),
        ("doubling", 5, 40, 1, 100, (10, ScaleUpLimit)),
        ("+4 from tiny sizes", 1, 40, 1, 100, (4, ScaleUpLimit)),
        ("max tighter", 5, 40, 1, 8, (8, TooManyReplicas)),
        ("max equal to the doubling is TooManyReplicas", 5, 40, 1, 10, (10, TooManyReplicas)),
        ("below min", 5, 0, 2, 100, (2, TooFewReplicas)),
        ("no rate limit down", 50, 1, 1, 100, (1, DesiredWithinRange)),
    ];
    for (name, current, desired, min, max, want) in cases {
        assert_eq!(limits::legacy(current, desired, min, max), want, "{name}");
    }
}

#[test]
fn scale_events_only_with_behavior_and_slots_reused() {
    let m = || vec![average("m", 1000)];
    let mut legacy = Hpa::new(spec(1, 100, m(), None), ControllerConfig::default());
    follow(&mut legacy, 3, 3, |_, _| vec![50_000]);
    assert_eq!(legacy.history.scale_up_events, vec![]);

    let mut b = Hpa::new(
        spec(1, 100, m(), Some(Behavior::default())),
        ControllerConfig::default(),
    );
    assert_eq!(follow(&mut b, 3, 3, |_, _| vec![50_000]), vec![7, 14, 28]);
    // longest up period 15 s: at t=30 the event of t=0 is older than that and is reused
    let ev = |s: i64, change: i32| ScaleEvent {
        at_ms: s * 1000,
        change,
    };
    assert_eq!(b.history.scale_up_events, vec![ev(30, 14), ev(15, 7)]);
    // a scale-down goes to its own list with a positive change
    let o = b.sync(45_000, &settled(28, &[2_000]));
    assert_eq!(o.desired_replicas, 28); // held by the 300 s down window
    let o = b.sync(400_000, &settled(28, &[2_000]));
    assert_eq!(
        (o.desired_replicas, o.able_to_scale_reason),
        (2, SUCCEEDED_RESCALE)
    );
    assert_eq!(b.history.scale_down_events, vec![ev(400, 26)]);
}
