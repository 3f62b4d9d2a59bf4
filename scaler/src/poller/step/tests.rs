//! Table tests of the poll step: each row is what a poll saw, and the decision, the writes and
//! the status the step must produce.

use super::*;
use crate::api::conditions::{ACTIVE, FALLBACK, READY};
use crate::api::{PlannedChange, PreScalingStatus};
use crate::poller::evaluate::MetricResult;
use crate::prescaling::PreScaleNow;
use crate::scaling::fallback::{Behavior, Fallback};
use crate::scaling::pause::Pause;
use crate::target::TargetRef;
use kube::api::ApiResource;
use kube::core::GroupVersionKind;
use prescale_scalers::prescale::Bounds;
use std::time::Duration;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn spec() -> PollSpec {
    let gvk = GroupVersionKind::gvk("apps", "v1", "Deployment");
    let mut hpa = k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler::default();
    hpa.metadata.name = Some("keda-hpa-app".into());
    PollSpec {
        namespace: "ns".into(),
        name: "app".into(),
        interval: Duration::from_secs(30),
        fallback: None,
        modifiers: None,
        min: 0,
        max: 20,
        idle: None,
        cooldown_period_s: 300,
        initial_cooldown_period_s: 0,
        created: at("2026-12-01T00:00:00Z"),
        pause: Pause::default(),
        target: TargetRef {
            namespace: "ns".into(),
            name: "app".into(),
            resource: ApiResource::from_gvk_with_plural(&gvk, "deployments"),
        },
        call_timeout: Duration::from_secs(6),
        hpa: crate::poller::DesiredHpa::new(&hpa),
    }
}

fn eval(value: f64, active: bool) -> Evaluation {
    Evaluation {
        metrics: vec![MetricResult {
            metric_name: "s0-redis-jobs".into(),
            trigger_index: Some(0),
            value: Some(value),
            active,
            fallback: false,
            error: None,
            latency: Duration::ZERO,
        }],
        active,
        errored: false,
        active_metrics: if active {
            vec!["s0-redis-jobs".into()]
        } else {
            vec![]
        },
    }
}

fn failing(fallback: bool) -> Evaluation {
    let mut e = eval(0.0, false);
    e.metrics[0].value = fallback.then_some(10.0);
    e.metrics[0].active = fallback;
    e.metrics[0].fallback = fallback;
    e.metrics[0].error = Some(("connection refused".into(), "connection"));
    e.errored = !fallback;
    e.active = fallback;
    e
}

fn floor(n: i64, want: (i32, i32)) -> PreScaleNow {
    PreScaleNow {
        bounds: Bounds {
            floor: n,
            floor_rule: Some("2026-12-12T00:00/2026-12-12T02:00=50".into()),
            floor_from: (n > 0).then_some(0),
            ..Bounds::default()
        },
        want,
        status: PreScalingStatus {
            min_replicas: want.0,
            max_replicas: want.1,
            next_changes: vec![PlannedChange {
                time: time_of(at("2026-12-12T02:00:00Z")),
                min_replicas: 1,
                max_replicas: want.1,
                rule: None,
                lead_time: None,
            }],
            ..PreScalingStatus::default()
        },
        condition: ("True", "FloorRaised", "minReplicas raised".into()),
        lead: Duration::from_secs(600),
        lead_note: "leadTime 10m".into(),
    }
}

/// One row: what the poll saw.
struct Row {
    spec: PollSpec,
    current: i32,
    eval: Evaluation,
    prescale: Option<PreScaleNow>,
    held: (i32, i32),
    status: ScaledObjectStatus,
    seen: Option<DateTime<Utc>>,
}

fn row(current: i32, eval: Evaluation) -> Row {
    Row {
        spec: spec(),
        current,
        eval,
        prescale: None,
        held: (1, 20),
        status: ScaledObjectStatus::default(),
        seen: None,
    }
}

fn run(r: &Row) -> Step {
    decide(&StepInput {
        now: at("2026-12-11T15:50:00Z"),
        spec: &r.spec,
        current: r.current,
        eval: &r.eval,
        health: &BTreeMap::new(),
        prescale: r.prescale.as_ref(),
        held_bounds: r.held,
        status: &r.status,
        last_active_seen: r.seen,
    })
}

/// The replica counts the step writes to the target, in order.
fn scales(step: &Step) -> Vec<i32> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::ScaleTarget { to, .. } => Some(*to),
            _ => None,
        })
        .collect()
}

fn reasons(effects: &[Effect]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for e in effects {
        match e {
            Effect::Event(n) => out.push(n.reason),
            Effect::ScaleTarget { then, .. } | Effect::SetHpaBounds { then, .. } => {
                out.extend(reasons(then))
            }
            _ => {}
        }
    }
    out
}

fn cond(step: &Step, t: &str) -> (String, String) {
    let c = step.status.condition(t).expect(t);
    (c.status.clone(), c.reason.clone().unwrap_or_default())
}

#[test]
fn activation_table_through_the_step() {
    // (what, row, decision, writes to the target)
    let mut deactivating = row(3, eval(0.0, false));
    deactivating.status.last_active_time = Some(time_of(at("2026-12-11T15:00:00Z")));
    let mut cooling = row(3, eval(0.0, false));
    cooling.status.last_active_time = Some(time_of(at("2026-12-11T15:48:00Z")));
    let mut out_paused = row(0, eval(5.0, true));
    out_paused.spec.pause.scale_out = true;
    let mut forced = row(0, eval(0.0, false));
    forced.spec.pause.force_activation = true;
    let mut below_min = row(1, eval(0.0, false));
    below_min.spec.min = 2;
    let cases: Vec<(&str, Row, Decision, Vec<i32>)> = vec![
        (
            "idle at zero",
            row(0, eval(0.0, false)),
            Decision::Nothing,
            vec![],
        ),
        (
            "active at zero",
            row(0, eval(5.0, true)),
            Decision::Activate { to: 1 },
            vec![1],
        ),
        (
            "active and running",
            row(4, eval(5.0, true)),
            Decision::KeepActive,
            vec![],
        ),
        (
            "inactive after cooldown",
            deactivating,
            Decision::Deactivate { to: 0 },
            vec![0],
        ),
        (
            "inactive within cooldown",
            cooling,
            Decision::Cooldown,
            vec![],
        ),
        (
            "scale-out paused",
            out_paused,
            Decision::ActiveScaleOutPaused,
            vec![],
        ),
        (
            "forced activation",
            forced,
            Decision::Activate { to: 1 },
            vec![1],
        ),
        (
            "below min",
            below_min,
            Decision::RaiseToMin { to: 2 },
            vec![2],
        ),
        (
            "failing, no fallback",
            row(2, failing(false)),
            Decision::TriggerError,
            vec![],
        ),
    ];
    for (what, r, decision, writes) in cases {
        let step = run(&r);
        assert_eq!(step.decision, decision, "{what}");
        assert_eq!(scales(&step), writes, "{what}");
        assert_eq!(
            step.effects[0],
            Effect::RecordMetrics,
            "{what}: values are stored first"
        );
    }
}

#[test]
fn activation_writes_last_active_time_only_once_the_scale_went_through() {
    let step = run(&row(0, eval(5.0, true)));
    let Effect::ScaleTarget {
        then, otherwise, ..
    } = &step.effects[1]
    else {
        panic!("{:?}", step.effects)
    };
    assert!(then.contains(&Effect::Status(StatusEdit::LastActive)));
    assert_eq!(reasons(then), vec![events::TARGET_ACTIVATED]);
    let Effect::Event(n) = &then[0] else { panic!() };
    assert_eq!(
        n.text,
        "Scaled apps/v1.Deployment ns/app from 0 to 1, triggered by s0-redis-jobs"
    );
    assert!(
        matches!(&otherwise[..], [Effect::Event(n)] if n.reason == events::TARGET_ACTIVATION_FAILED && n.with_error)
    );
    assert!(
        step.status.last_active_time.is_none(),
        "not before the write"
    );
    // keeping active with none written writes it at once
    let kept = run(&row(4, eval(5.0, true)));
    assert_eq!(
        kept.status.last_active_time,
        Some(time_of(at("2026-12-11T15:50:00Z")))
    );
}

/// `lastActiveTime` is written on transitions and at most every 5 minutes while active, and the
/// cooldown counts from the exact last active poll the loop remembers.
#[test]
fn last_active_time_is_coarse_while_active_and_exact_on_the_way_out() {
    let now = at("2026-12-11T15:50:00Z");
    let with = |current: i32, active: bool, written: Option<&str>, seen: Option<&str>| {
        let mut r = row(current, eval(if active { 5.0 } else { 0.0 }, active));
        r.status.last_active_time = written.map(|w| time_of(at(w)));
        r.seen = seen.map(at);
        r
    };
    // (what, row, lastActiveTime written after the poll, active_seen after it)
    let cases = vec![
        (
            "active, written 4.5 min ago: kept (no write)",
            with(
                4,
                true,
                Some("2026-12-11T15:45:30Z"),
                Some("2026-12-11T15:49:30Z"),
            ),
            Some("2026-12-11T15:45:30Z"),
            Some(now),
        ),
        (
            "active, written 5 min ago: refreshed",
            with(
                4,
                true,
                Some("2026-12-11T15:45:00Z"),
                Some("2026-12-11T15:49:30Z"),
            ),
            Some("2026-12-11T15:50:00Z"),
            Some(now),
        ),
        (
            "inactive after activity: the exact last active poll is written",
            with(
                4,
                false,
                Some("2026-12-11T15:49:00Z"),
                Some("2026-12-11T15:49:30Z"),
            ),
            Some("2026-12-11T15:49:30Z"),
            Some(at("2026-12-11T15:49:30Z")),
        ),
        (
            "inactive, already exact: unchanged",
            with(
                4,
                false,
                Some("2026-12-11T15:49:30Z"),
                Some("2026-12-11T15:49:30Z"),
            ),
            Some("2026-12-11T15:49:30Z"),
            Some(at("2026-12-11T15:49:30Z")),
        ),
        (
            "inactive after a restart (no memory): the written one stays",
            with(4, false, Some("2026-12-11T15:40:00Z"), None),
            Some("2026-12-11T15:40:00Z"),
            None,
        ),
    ];
    for (what, r, written, seen) in cases {
        let step = run(&r);
        assert_eq!(
            step.status.last_active_time,
            written.map(|w| time_of(at(w))),
            "{what}"
        );
        assert_eq!(step.active_seen, seen, "{what}");
    }
    // cooldown (300 s in spec()) counts from the remembered instant, not the stale written one
    let mut r = with(
        4,
        false,
        Some("2026-12-11T15:40:00Z"),
        Some("2026-12-11T15:49:30Z"),
    );
    r.spec.min = 0;
    let step = run(&r);
    assert!(
        scales(&step).is_empty(),
        "cooldown not over: {:?}",
        step.decision
    );
    r.seen = None;
    let step = run(&r);
    assert_eq!(scales(&step), vec![0], "{:?}", step.decision);
}

#[test]
fn conditions_follow_the_decision() {
    let cases = vec![
        (
            row(0, eval(5.0, true)),
            ("True", "ScalerActive"),
            ("True", "ScaledObjectReady"),
        ),
        (
            row(0, eval(0.0, false)),
            ("False", "ScalerNotActive"),
            ("True", "ScaledObjectReady"),
        ),
        (
            row(2, failing(false)),
            ("False", "ScalerNotActive"),
            ("False", "TriggerError"),
        ),
    ];
    for (r, active, ready) in cases {
        let step = run(&r);
        assert_eq!(cond(&step, ACTIVE), (active.0.into(), active.1.into()));
        assert_eq!(cond(&step, READY), (ready.0.into(), ready.1.into()));
    }
    let mut partial = row(3, eval(5.0, true));
    partial.eval.errored = true;
    assert_eq!(cond(&run(&partial), READY).1, "PartialTriggerError");
}

#[test]
fn a_floor_in_force_changes_activation() {
    // (decision without floor, floor, decision with it)
    let cases = [
        (
            Decision::Activate { to: 1 },
            Some(5),
            Decision::Activate { to: 5 },
        ),
        (
            Decision::Activate { to: 8 },
            Some(5),
            Decision::Activate { to: 8 },
        ),
        (
            Decision::Deactivate { to: 0 },
            Some(5),
            Decision::KeepActive,
        ),
        (
            Decision::Deactivate { to: 0 },
            None,
            Decision::Deactivate { to: 0 },
        ),
        (Decision::Cooldown, Some(5), Decision::Cooldown),
        (Decision::Nothing, Some(5), Decision::Nothing),
    ];
    for (d, f, want) in cases {
        assert_eq!(with_floor(d, f, false), want, "{d:?} with floor {f:?}");
    }
    // at zero (scale-out not paused) a floor in force activates straight to it, whatever
    // the triggers say; without a floor nothing changes
    let at_zero = [
        (Decision::Nothing, Some(5), Decision::Activate { to: 5 }),
        (
            Decision::TriggerError,
            Some(5),
            Decision::Activate { to: 5 },
        ),
        (
            Decision::HoldForFallback,
            Some(2),
            Decision::Activate { to: 2 },
        ),
        (
            Decision::Activate { to: 1 },
            Some(4),
            Decision::Activate { to: 4 },
        ),
        (Decision::Nothing, None, Decision::Nothing),
        (Decision::TriggerError, None, Decision::TriggerError),
    ];
    for (d, f, want) in at_zero {
        assert_eq!(
            with_floor(d, f, true),
            want,
            "{d:?} at zero with floor {f:?}"
        );
    }
}

#[test]
fn a_rising_floor_moves_the_hpa_bounds_then_scales_a_running_target() {
    let mut r = row(3, eval(1.0, true));
    r.spec.min = 3;
    r.prescale = Some(floor(10, (10, 20)));
    r.held = (3, 20);
    let step = run(&r);
    assert_eq!(step.decision, Decision::KeepActive);
    let Effect::SetHpaBounds {
        min,
        max,
        then,
        otherwise,
    } = &step.effects[2]
    else {
        panic!("{:?}", step.effects)
    };
    assert_eq!((*min, *max), (10, 20));
    assert_eq!(reasons(then), vec![events::PRE_SCALING_FLOOR_RAISED]);
    assert!(
        otherwise.contains(&Effect::Status(StatusEdit::PreScalingBounds {
            min: 3,
            max: 20
        }))
    );
    assert_eq!(
        scales(&step),
        vec![10],
        "scaled at once, not at the HPA's next sync"
    );
    assert_eq!(reasons(&step.effects[3..]), vec![events::PRE_SCALED_TARGET]);
    assert_eq!(
        cond(&step, crate::api::conditions::PRE_SCALING).1,
        "FloorRaised"
    );
    assert_eq!(step.status.pre_scaling.as_ref().unwrap().min_replicas, 10);
    assert_eq!(step.next_change(), Some(at("2026-12-12T02:00:00Z")));
}

#[test]
fn bounds_already_held_are_not_written_again() {
    let mut r = row(10, eval(1.0, true));
    r.prescale = Some(floor(10, (10, 20)));
    r.held = (10, 20);
    r.status.pre_scaling = Some(floor(10, (10, 20)).status);
    let step = run(&r);
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::SetHpaBounds { .. } | Effect::ScaleTarget { .. })),
        "{:?}",
        step.effects
    );
    assert!(
        reasons(&step.effects).is_empty(),
        "no Event when nothing changed"
    );
}

#[test]
fn a_floor_activates_from_zero_straight_to_it_and_is_never_deactivated() {
    let mut r = row(0, eval(0.0, false));
    r.spec.pause.force_activation = true;
    r.prescale = Some(floor(7, (7, 20)));
    assert_eq!(run(&r).decision, Decision::Activate { to: 7 });
    let mut r = row(7, eval(0.0, false));
    r.status.last_active_time = Some(time_of(at("2026-12-11T10:00:00Z")));
    r.prescale = Some(floor(7, (7, 20)));
    r.held = (7, 20);
    let step = run(&r);
    assert_eq!(step.decision, Decision::KeepActive);
    assert!(scales(&step).is_empty());
}

#[test]
fn a_floor_raised_before_its_window_activates_a_target_at_zero_with_no_active_trigger() {
    // the floor is looked up a moment ahead while the schedule's own metric is still 0
    let mut r = row(0, eval(0.0, false));
    r.prescale = Some(floor(4, (4, 20)));
    let step = run(&r);
    assert_eq!(step.decision, Decision::Activate { to: 4 });
    assert_eq!(scales(&step), vec![4]);
    let texts: Vec<String> = all_notes(&step.effects);
    assert!(
        texts
            .iter()
            .any(|t| t.ends_with("from 0 to 4, for the pre-scaling floor")),
        "{texts:?}"
    );
    // scale-out paused: the floor moves the HPA only
    r.spec.pause.scale_out = true;
    let step = run(&r);
    assert!(scales(&step).is_empty(), "{:?}", step.effects);
}

/// The texts of every Event an effect list would publish, follow-ups included.
fn all_notes(effects: &[Effect]) -> Vec<String> {
    let mut out = Vec::new();
    for e in effects {
        match e {
            Effect::Event(n) => out.push(n.text.clone()),
            Effect::ScaleTarget { then, .. } | Effect::SetHpaBounds { then, .. } => {
                out.extend(all_notes(then))
            }
            _ => {}
        }
    }
    out
}

#[test]
fn removed_pre_scaling_leaves_no_trace() {
    let mut r = row(2, eval(1.0, true));
    r.status.pre_scaling = Some(floor(5, (5, 20)).status);
    r.status.set_condition(
        crate::api::conditions::PRE_SCALING,
        "True",
        "FloorRaised",
        "x",
    );
    let step = run(&r);
    assert!(step.status.pre_scaling.is_none());
    assert!(
        step.status
            .condition(crate::api::conditions::PRE_SCALING)
            .is_none()
    );
    assert!(step.effects.contains(&Effect::ForgetPreScaling));
}

#[test]
fn fallback_condition_and_events_change_only_on_transitions() {
    let fb = Fallback {
        failure_threshold: 3,
        replicas: 4,
        behavior: Behavior::Static,
    };
    let mut r = row(2, failing(true));
    r.spec.fallback = Some(fb);
    let step = run(&r);
    assert_eq!(
        cond(&step, FALLBACK),
        ("True".into(), "FallbackExists".into())
    );
    assert_eq!(reasons(&step.effects), vec![events::FALLBACK_ACTIVATED]);
    r.status = step.status.clone();
    assert!(reasons(&run(&r).effects).is_empty(), "no second Event");
    r.eval = eval(3.0, true);
    let back = run(&r);
    assert_eq!(cond(&back, FALLBACK).1, "NoFallbackFound");
    assert_eq!(reasons(&back.effects), vec![events::FALLBACK_DEACTIVATED]);
    // without a fallback the condition is left alone
    let plain = run(&row(2, failing(false)));
    assert!(plain.status.condition(FALLBACK).is_none());
}
