//! Table tests of `explain`'s pure parts: the state document turned into the model's inputs,
//! the ScaledObject's triggers as shown, and the model's answer with its steps in words.

use super::state::StateDoc;
use super::*;
use prescale_hpa_model::Target;
use serde_json::json;

fn inputs(doc: serde_json::Value) -> Result<state::Inputs, String> {
    StateDoc::parse(&doc.to_string())?.inputs()
}

#[test]
fn documents_become_model_inputs() {
    struct Case {
        what: &'static str,
        doc: serde_json::Value,
        check: fn(&state::Inputs),
    }
    let cases = [
        Case {
            what: "quantities as strings and numbers, defaults",
            doc: json!({"maxReplicas": 10, "currentReplicas": 3, "metrics": [
                {"target": {"type": "AverageValue", "value": "8.6"}, "current": 4.4},
                {"name": "q", "target": {"type": "Value", "averageValue": 500}, "current": "250m"}]}),
            check: |i| {
                assert_eq!(i.spec.min_replicas, 1);
                assert_eq!(i.spec.metrics[0].name, "metric-0");
                assert_eq!(i.spec.metrics[0].target, Target::AverageValue(8600));
                assert_eq!(i.spec.metrics[1].target, Target::Value(500_000));
                assert_eq!(i.observation.metrics[0], Ok(vec![4400]));
                assert_eq!(i.observation.metrics[1], Ok(vec![250]));
                assert_eq!(
                    i.observation.ready_pods,
                    Some(3),
                    "ready defaults to current"
                );
                assert_eq!(i.config.tolerance, 0.1);
            },
        },
        Case {
            what: "items listed, an error, tolerance and history",
            doc: json!({"minReplicas": 2, "maxReplicas": 10, "currentReplicas": 4, "readyReplicas": 3,
                "tolerance": "0.05",
                "metrics": [{"target": {"type": "Value", "value": "1"}, "current": ["1", 2]},
                            {"target": {"type": "Utilization", "averageUtilization": 60}, "error": "no metrics"}],
                "recommendations": [{"ageSeconds": 30, "replicas": 4}],
                "scaleEvents": {"up": [{"ageSeconds": 1.5, "change": 2}], "down": [{"ageSeconds": 0, "change": 1}]}}),
            check: |i| {
                assert_eq!(i.spec.min_replicas, 2);
                assert_eq!(i.observation.metrics[0], Ok(vec![1000, 2000]));
                assert_eq!(i.observation.metrics[1], Err("no metrics".to_string()));
                assert_eq!(i.spec.metrics[1].target, Target::Utilization(60));
                assert_eq!(i.observation.ready_pods, Some(3));
                assert!((i.config.tolerance - 0.05).abs() < 1e-9);
                assert_eq!(i.history.recommendations[0].at_ms, -30_000);
                assert_eq!(i.history.scale_up_events[0].at_ms, -1500);
                assert_eq!(i.history.scale_down_events[0].change, 1);
            },
        },
    ];
    for c in cases {
        match inputs(c.doc) {
            Ok(i) => (c.check)(&i),
            Err(e) => panic!("{}: {e}", c.what),
        }
    }
}

#[test]
fn bad_documents_name_the_field() {
    let base = |extra: serde_json::Value| {
        let mut d = json!({"maxReplicas": 5, "currentReplicas": 1, "metrics": []});
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    };
    let cases = [
        (
            base(json!({"maxReplicas": 0})),
            "maxReplicas must be at least 1",
        ),
        (
            base(json!({"metrics": [{"target": {"type": "Value"}, "current": 1}]})),
            "metrics[0]: target.value is missing",
        ),
        (
            base(json!({"metrics": [{"target": {"type": "Utilization"}, "current": 1}]})),
            "metrics[0]: a Utilization target needs averageUtilization",
        ),
        (
            base(json!({"metrics": [{"target": {"type": "Value", "value": 1}}]})),
            "metrics[0]: current (or error) is missing",
        ),
        (
            base(
                json!({"metrics": [{"target": {"type": "Value", "value": 1}, "current": 1, "error": "x"}]}),
            ),
            "either current or error",
        ),
        (
            base(
                json!({"metrics": [{"target": {"type": "Value", "value": 1}, "current": [1, true]}]}),
            ),
            "metrics[0].current[1]: true is neither a quantity nor a number",
        ),
        (base(json!({"tolerance": "lots"})), "tolerance:"),
        (
            base(json!({"recommendations": [{"ageSeconds": 1}]})),
            "recommendations[0]: replicas is missing",
        ),
        (
            base(json!({"scaleEvents": {"down": [{"ageSeconds": -1, "change": 1}]}})),
            "scaleEvents.down[0]: ageSeconds must be a number ≥ 0",
        ),
    ];
    for (doc, want) in cases {
        match inputs(doc.clone()) {
            Ok(_) => panic!("{doc} was accepted"),
            Err(e) => assert!(e.contains(want), "{doc}: {e} (want {want})"),
        }
    }
}

fn scaled_object(triggers: serde_json::Value, status: serde_json::Value) -> ScaledObject {
    serde_json::from_value(json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "worker", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"name": "worker"}, "triggers": triggers},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn triggers_take_metric_names_activity_and_health_from_status() {
    let so = scaled_object(
        json!([
            {"type": "cpu", "metadata": {"value": "60"}, "metricType": "Utilization"},
            {"type": "redis", "name": "jobs", "metadata": {"listName": "q"}},
            {"type": "prometheus", "metadata": {"query": "x", "threshold": "1"}}
        ]),
        json!({
            "externalMetricNames": ["s1-redis-q", "s2-prometheus"],
            "triggersActivity": {"s1-redis-q": {"isActive": true}},
            "health": {"s2-prometheus": {"status": "Failing", "numberOfFailures": 4}}
        }),
    );
    let views = triggers(&so);
    let rows: Vec<_> = views
        .iter()
        .map(|t| (t.index, t.metric.as_deref(), t.active, t.health.as_deref()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (0, None, None, None),
            (1, Some("s1-redis-q"), Some(true), None),
            (2, Some("s2-prometheus"), None, Some("Failing (4 failures)")),
        ]
    );
    assert_eq!(views[1].name, "jobs");
    let e = Explanation::new(&so, "Deployment".into(), views);
    assert_eq!(
        (e.scaled_object.as_str(), e.target.as_str()),
        ("shop/worker", "Deployment shop/worker")
    );
}

fn spec(min: i32, max: i32, metrics: &[(&str, Target)]) -> HpaSpec {
    HpaSpec {
        min_replicas: min,
        max_replicas: max,
        metrics: metrics
            .iter()
            .map(|(n, t)| prescale_hpa_model::Metric {
                name: n.to_string(),
                target: *t,
            })
            .collect(),
        behavior: None,
    }
}

fn obs(replicas: i32, metrics: Vec<Result<Vec<i64>, String>>) -> Observation {
    Observation {
        spec_replicas: replicas,
        status_replicas: replicas,
        ready_pods: Some(replicas),
        metrics,
    }
}

#[test]
fn the_model_view_names_the_driver_and_its_steps() {
    struct Case {
        what: &'static str,
        spec: HpaSpec,
        obs: Observation,
        desired: i32,
        reason: &'static str,
        driving: Option<&'static str>,
        says: &'static str,
    }
    let two = [
        ("a", Target::AverageValue(5000)),
        ("b", Target::AverageValue(1000)),
    ];
    let cases = [
        Case {
            what: "the larger proposal drives",
            spec: spec(1, 50, &two),
            obs: obs(5, vec![Ok(vec![20_000]), Ok(vec![9000])]),
            desired: 9,
            reason: "DesiredWithinRange",
            driving: Some("b"),
            says: "b: usage",
        },
        Case {
            what: "the legacy scale-up limit max(2 × current, 4)",
            spec: spec(1, 50, &two),
            obs: obs(2, vec![Ok(vec![20_000]), Ok(vec![9000])]),
            desired: 4,
            reason: "ScaleUpLimit",
            driving: Some("b"),
            says: "limited to 4",
        },
        Case {
            what: "maxReplicas",
            spec: spec(1, 6, &two),
            obs: obs(5, vec![Ok(vec![20_000]), Ok(vec![9000])]),
            desired: 6,
            reason: "TooManyReplicas",
            driving: Some("b"),
            says: "limited to 6",
        },
        Case {
            what: "within tolerance",
            spec: spec(1, 10, &two[..1]),
            obs: obs(4, vec![Ok(vec![21_000])]),
            desired: 4,
            reason: "DesiredWithinRange",
            driving: Some("a"),
            says: "within the tolerance 0.1, no change",
        },
        Case {
            what: "nothing readable",
            spec: spec(1, 10, &two[..1]),
            obs: obs(4, vec![Err("adapter down".into())]),
            desired: 4,
            reason: "FailedGetExternalMetric",
            driving: None,
            says: "no recommendation: no metric could be read",
        },
    ];
    for c in cases {
        let mut e = Explanation::default();
        e.model(&c.spec, &History::default(), &c.obs, false);
        let m = e.model.as_ref().unwrap();
        assert_eq!(
            (m.desired_replicas, m.reason.as_str(), m.driving.as_deref()),
            (c.desired, c.reason, c.driving),
            "{}: {:?}",
            c.what,
            m.why
        );
        assert!(
            m.why.iter().any(|w| w.contains(c.says)),
            "{}: {:?} lacks {:?}",
            c.what,
            m.why,
            c.says
        );
        assert!(e.notes.is_empty());
        assert!(
            text(&e).contains(&format!("desired {}", c.desired)),
            "{}",
            c.what
        );
    }
    let mut live = Explanation::default();
    live.model(
        &spec(1, 5, &two[..1]),
        &History::default(),
        &obs(1, vec![Ok(vec![1])]),
        true,
    );
    assert!(live.notes[0].contains("in memory"));
}
