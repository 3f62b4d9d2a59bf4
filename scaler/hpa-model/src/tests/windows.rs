//! Table tests of the stabilisation windows (legacy and behavior, cutoffs and slot reuse)
//! and of the guard rails that bypass them.

use super::*;
use crate::stabilize;

fn records(list: &[(i64, i32)]) -> History {
    History {
        recommendations: list
            .iter()
            .map(|&(s, r)| Recommendation {
                at_ms: s * 1000,
                replicas: r,
            })
            .collect(),
        ..History::default()
    }
}

#[test]
fn legacy_stabilisation_window() {
    // (name, records (s, replicas), raw, now s, stabilized, records after)
    type Case = (
        &'static str,
        Vec<(i64, i32)>,
        i32,
        i64,
        i32,
        Vec<(i64, i32)>,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("up is immediate", vec![(0, 3)], 9, 15, 9, vec![(0, 3), (15, 9)]),
        ("down waits for higher records", vec![(0, 9), (15, 5)], 2, 30, 9, vec![(0, 9), (15, 5), (30, 2)]),
        ("a record exactly at the cutoff counts", vec![(0, 9)], 2, 300, 9, vec![(0, 9), (300, 2)]),
        ("older than the window: replaced", vec![(0, 9), (200, 4)], 2, 301, 4, vec![(301, 2), (200, 4)]),
        ("the last old record is the one reused", vec![(0, 9), (1, 8), (400, 3)], 2, 302, 3, vec![(0, 9), (302, 2), (400, 3)]),
    ];
    for (name, recs, raw, now, want, after) in cases {
        let mut h = records(&recs);
        let (got, _) = stabilize::legacy(&mut h, raw, now * 1000, 300);
        assert_eq!(got, want, "{name}");
        assert_eq!(h, records(&after), "{name}");
    }
}

#[test]
fn behavior_stabilisation_windows() {
    // (name, records, current, raw, now s, up window s, down window s, stabilized, reason)
    type Case = (
        &'static str,
        Vec<(i64, i32)>,
        i32,
        i32,
        i64,
        i64,
        i64,
        i32,
        &'static str,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("nothing recent: raw", vec![(0, 5)], 5, 8, 100, 0, 0, 8, READY_FOR_NEW_SCALE),
        ("up window holds the lowest", vec![(40, 6), (50, 9)], 5, 8, 60, 30, 0, 6, SCALE_UP_STABILIZED),
        ("up window is strict at the cutoff", vec![(30, 6)], 5, 8, 60, 30, 0, 8, READY_FOR_NEW_SCALE),
        ("down window holds the highest", vec![(10, 9), (20, 7)], 9, 3, 60, 0, 300, 9, SCALE_DOWN_STABILIZED),
        ("down window partly down", vec![(10, 6), (20, 4)], 9, 3, 60, 0, 300, 6, SCALE_DOWN_STABILIZED),
        ("both windows: holds at current", vec![(50, 2), (55, 12)], 5, 8, 60, 30, 30, 5, SCALE_UP_STABILIZED),
        ("down window strict at the cutoff", vec![(0, 10)], 10, 2, 300, 0, 300, 2, READY_FOR_NEW_SCALE),
    ];
    for (name, recs, current, raw, now, up, down, want, reason) in cases {
        let mut h = records(&recs);
        let got =
            stabilize::with_behavior(&mut h, raw, current, now * 1000, up * 1000, down * 1000);
        assert_eq!(got, (want, reason), "{name}");
        assert_eq!(
            h.recommendations.last().map(|r| r.replicas),
            Some(raw),
            "{name}: raw recorded"
        );
    }
    // the slot reused is one older than both windows
    let mut h = records(&[(0, 1), (100, 2), (290, 3)]);
    stabilize::with_behavior(&mut h, 7, 5, 300_000, 60_000, 150_000);
    assert_eq!(h, records(&[(0, 1), (300, 7), (290, 3)]));
}

#[test]
fn guard_rails() {
    let behavior = Some(Behavior::default());
    // (name, min, max, spec replicas, behavior, desired, reason, scaling active, events)
    type Case = (
        &'static str,
        i32,
        i32,
        i32,
        Option<Behavior>,
        i32,
        Reason,
        bool,
        usize,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("spec 0, min 1: disabled", 1, 10, 0, None, 0, Reason::ScalingDisabled, false, 0),
        ("above max: straight to max", 1, 10, 30, None, 10, Reason::TooManyReplicas, true, 0),
        ("below min: straight to min", 5, 10, 2, None, 5, Reason::TooFewReplicas, true, 0),
        ("above max with behavior: an event", 1, 10, 30, behavior.clone(), 10, Reason::TooManyReplicas, true, 1),
        ("below min bypasses the rate limit", 50, 60, 2, behavior, 50, Reason::TooFewReplicas, true, 1),
    ];
    for (name, min, max, current, b, desired, reason, active, events) in cases {
        let s = spec(min, max, vec![average("m", 1000)], b);
        let (o, h) = sync(
            &s,
            &ControllerConfig::default(),
            &History::default(),
            0,
            &settled(current, &[1000]),
        );
        assert_eq!(
            (o.desired_replicas, o.reason, o.scaling_active),
            (desired, reason, active),
            "{name}"
        );
        assert_eq!(o.rescale, desired != current, "{name}");
        assert_eq!(o.raw, None, "{name}: metrics not combined");
        assert_eq!(h.recommendations.len(), 1, "{name}: only the seed");
        assert_eq!(
            h.scale_up_events.len() + h.scale_down_events.len(),
            events,
            "{name}"
        );
    }
}
