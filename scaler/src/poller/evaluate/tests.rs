//! Table tests of `combine`, the pure half of an evaluation: what the reads of a poll become
//! once fallback bookkeeping and `scalingModifiers` apply. The triggers are real, offline `cron`
//! triggers (only their metric specs and names matter here: the reads are given).

use super::*;
use crate::scaling::fallback::Behavior;
use prescale_scalers::{TriggerInput, registry};
use std::collections::BTreeMap;

async fn trigger(index: usize, name: &str) -> LiveTrigger {
    let input = TriggerInput {
        trigger_type: "cron".into(),
        name: name.into(),
        index,
        metric_type: String::new(),
        metadata: BTreeMap::from([
            ("timezone".to_string(), "Etc/UTC".to_string()),
            ("start".to_string(), format!("{index} 8 * * *")),
            ("end".to_string(), format!("{index} 18 * * *")),
            ("desiredReplicas".to_string(), "5".to_string()),
        ]),
        auth_params: BTreeMap::new(),
        resolved_env: BTreeMap::new(),
        pod_identity_provider: None,
    };
    let def = registry::parse(&input).unwrap();
    LiveTrigger {
        index,
        name: name.into(),
        trigger_type: "cron".into(),
        spec: def.metric_spec(),
        scaler: def
            .connect(&prescale_scalers::Context::default())
            .await
            .unwrap(),
    }
}

fn ok(value: f64) -> Read {
    (
        Ok(Sample {
            value,
            active: value > 0.0,
        }),
        Duration::from_millis(3),
    )
}

fn failed() -> Read {
    (
        Err(Error::Connect("connection refused".into())),
        Duration::from_millis(3),
    )
}

const TARGET: TargetState = TargetState {
    current_replicas: 3,
    ready_pods: 3,
};

fn fallback(threshold: i32, replicas: i32) -> Fallback {
    Fallback {
        failure_threshold: threshold,
        replicas,
        behavior: Behavior::Static,
    }
}

/// What, reads, values served, active, errored.
type Case = (&'static str, Vec<Read>, Vec<Option<f64>>, bool, bool);

#[tokio::test]
async fn reads_become_metrics_with_activity_and_errors() {
    let triggers = vec![trigger(0, "a").await, trigger(1, "b").await];
    // (what, reads, values served, active, errored)
    let cases: Vec<Case> = vec![
        (
            "both read",
            vec![ok(5.0), ok(0.0)],
            vec![Some(5.0), Some(0.0)],
            true,
            false,
        ),
        (
            "none active",
            vec![ok(0.0), ok(0.0)],
            vec![Some(0.0), Some(0.0)],
            false,
            false,
        ),
        (
            "one fails, no fallback",
            vec![ok(5.0), failed()],
            vec![Some(5.0), None],
            true,
            true,
        ),
        (
            "all fail",
            vec![failed(), failed()],
            vec![None, None],
            false,
            true,
        ),
    ];
    for (what, reads, values, active, errored) in cases {
        let mut health = BTreeMap::new();
        let e = combine(&triggers, reads, None, None, TARGET, &mut health);
        let got: Vec<Option<f64>> = e.metrics.iter().map(|m| m.value).collect();
        assert_eq!(got, values, "{what}");
        assert_eq!((e.active, e.errored), (active, errored), "{what}");
        assert!(
            health.is_empty(),
            "{what}: health is kept only with a fallback"
        );
    }
    let e = combine(
        &triggers,
        vec![ok(5.0), failed()],
        None,
        None,
        TARGET,
        &mut BTreeMap::new(),
    );
    assert_eq!(
        e.active_metrics,
        vec![triggers[0].spec.external_name().unwrap().to_string()]
    );
    assert_eq!(
        e.metrics[1].error,
        Some(("connection refused".to_string(), "connection"))
    );
}

#[tokio::test]
async fn fallback_serves_the_replicas_once_failures_pass_the_threshold() {
    let triggers = vec![trigger(0, "a").await];
    let name = triggers[0].spec.external_name().unwrap().to_string();
    let fb = fallback(1, 6);
    let mut health = BTreeMap::new();
    // first failure: counted, not yet falling back
    let e = combine(
        &triggers,
        vec![failed()],
        Some(&fb),
        None,
        TARGET,
        &mut health,
    );
    assert_eq!(
        (e.metrics[0].value, e.metrics[0].fallback, e.errored),
        (None, false, true)
    );
    assert_eq!(health[&name].number_of_failures, 1);
    // second: above the threshold, the value makes the HPA land on 6 (AverageValue 1 × 6)
    let e = combine(
        &triggers,
        vec![failed()],
        Some(&fb),
        None,
        TARGET,
        &mut health,
    );
    assert_eq!(
        (e.metrics[0].value, e.metrics[0].fallback),
        (Some(6.0), true)
    );
    assert!(e.active && !e.errored);
    // recovery resets the count
    let e = combine(
        &triggers,
        vec![ok(2.0)],
        Some(&fb),
        None,
        TARGET,
        &mut health,
    );
    assert_eq!(
        (e.metrics[0].value, e.metrics[0].fallback),
        (Some(2.0), false)
    );
    assert_eq!(health[&name].number_of_failures, 0);
}

#[tokio::test]
async fn modifiers_compose_one_metric() {
    let triggers = vec![trigger(0, "a").await, trigger(1, "b").await];
    let mods = Modifiers {
        formula: crate::scaling::formula::Formula::compile("a + b", &["a", "b"]).unwrap(),
        target: MetricTarget::from_float(prescale_scalers::MetricType::AverageValue, 2.0),
        activation_target: 4.0,
    };
    // (what, reads, composite value, active)
    let cases: Vec<(&str, Vec<Read>, Option<f64>, bool)> = vec![
        (
            "sum above activation",
            vec![ok(3.0), ok(2.0)],
            Some(5.0),
            true,
        ),
        (
            "sum at activation",
            vec![ok(3.0), ok(1.0)],
            Some(4.0),
            false,
        ),
        ("a trigger fails", vec![ok(3.0), failed()], None, false),
    ];
    for (what, reads, value, active) in cases {
        let e = combine(
            &triggers,
            reads,
            None,
            Some(&mods),
            TARGET,
            &mut BTreeMap::new(),
        );
        let composite = e.metrics.last().unwrap();
        assert_eq!(composite.metric_name, COMPOSITE_METRIC, "{what}");
        assert_eq!((composite.value, e.active), (value, active), "{what}");
        assert_eq!(e.errored, value.is_none(), "{what}");
    }
    // with a fallback past its threshold the composite serves replicas × target
    let fb = fallback(0, 4);
    let e = combine(
        &triggers,
        vec![ok(3.0), failed()],
        Some(&fb),
        Some(&mods),
        TARGET,
        &mut BTreeMap::new(),
    );
    let composite = e.metrics.last().unwrap();
    assert_eq!((composite.value, composite.fallback), (Some(8.0), true));
}

#[tokio::test]
async fn resource_only_objects_are_always_active() {
    let e = combine(&[], vec![], None, None, TARGET, &mut BTreeMap::new());
    assert!(!e.active, "no triggers at all is not active");
    let mut cpu = trigger(0, "a").await;
    cpu.spec = prescale_scalers::MetricSpec::Resource {
        name: "cpu".into(),
        container: None,
        target: MetricTarget::from_int(prescale_scalers::MetricType::Utilization, 65),
    };
    let e = combine(&[cpu], vec![], None, None, TARGET, &mut BTreeMap::new());
    assert!(e.active && !e.errored, "the HPA owns cpu/memory entirely");
}
