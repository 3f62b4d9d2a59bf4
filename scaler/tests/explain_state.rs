//! `prescale explain --state FILE` runs the HPA model on a captured situation: every test vector
//! of the Kubernetes HPA controller (../shared/spec/kubernetes.md §B.6) through the real binary,
//! plus the document's errors.

use serde_json::{Value, json};
use std::io::Write;
use std::process::Command;

/// Runs `explain --state` on `doc`, returning (exit ok, stdout JSON or stderr text).
fn explain(doc: &Value) -> (bool, Value, String) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(doc.to_string().as_bytes()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["explain", "--state"])
        .arg(file.path())
        .args(["-o", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.success(), json, stderr)
}

fn avg(value: &str, current: Value) -> Value {
    json!({"target": {"type": "AverageValue", "value": value}, "current": current})
}

fn val(value: &str, current: Value) -> Value {
    json!({"target": {"type": "Value", "value": value}, "current": current})
}

/// A behavior with no scale-down stabilisation (so one sync shows the raw step).
fn no_down_window() -> Value {
    json!({"scaleDown": {"stabilizationWindowSeconds": 0}})
}

struct Vector {
    what: &'static str,
    doc: Value,
    desired: i64,
    reason: Option<&'static str>,
}

fn v(what: &'static str, doc: Value, desired: i64, reason: Option<&'static str>) -> Vector {
    Vector {
        what,
        doc,
        desired,
        reason,
    }
}

fn vectors() -> Vec<Vector> {
    let base = |current: i64, metrics: Value, behavior: Value| {
        let mut d = json!({"minReplicas": 1, "maxReplicas": 100, "currentReplicas": current, "metrics": metrics});
        if !behavior.is_null() {
            d["behavior"] = behavior;
        }
        d
    };
    vec![
        // 1. docs: 200m vs 100m doubles, 50m halves, within 0.9–1.1 nothing
        v(
            "1 double",
            base(4, json!([val("100m", json!("200m"))]), no_down_window()),
            8,
            None,
        ),
        v(
            "1 halve",
            base(4, json!([val("100m", json!("50m"))]), no_down_window()),
            2,
            None,
        ),
        v(
            "1 within",
            base(4, json!([val("100m", json!("105m"))]), no_down_window()),
            4,
            None,
        ),
        // 2. Value 100, items [200, 100], spec 10, 8 ready: 24 proposed, legacy clamp 20
        v(
            "2 ready pods and the legacy clamp",
            json!({"maxReplicas": 100, "currentReplicas": 10, "readyReplicas": 8,
                   "metrics": [val("100", json!(["200", "100"]))]}),
            20,
            Some("ScaleUpLimit"),
        ),
        // 3. TestHPAWithTolerance
        v(
            "3 inside the default tolerance",
            base(35, json!([avg("100", json!(3700))]), Value::Null),
            35,
            None,
        ),
        v(
            "3 a scale-up tolerance of 0.05",
            base(
                35,
                json!([avg("100", json!(3700))]),
                json!({"scaleUp": {"tolerance": "0.05"}}),
            ),
            37,
            None,
        ),
        v(
            "3 1.027 holds",
            base(
                37,
                json!([avg("100", json!(3800))]),
                json!({"scaleUp": {"tolerance": "0.05"}}),
            ),
            37,
            None,
        ),
        v(
            "3 down to 10 with a scale-down tolerance of 0.5",
            base(
                37,
                json!([avg("100", json!(1000))]),
                json!({"scaleDown": {"tolerance": 0.5, "stabilizationWindowSeconds": 0}}),
            ),
            10,
            None,
        ),
        v(
            "3 0.8 holds with a scale-down tolerance of 0.5",
            base(
                10,
                json!([avg("100", json!(800))]),
                json!({"scaleDown": {"tolerance": 0.5, "stabilizationWindowSeconds": 0}}),
            ),
            10,
            None,
        ),
        // 4. floors as metrics get stuck in the tolerance band
        v(
            "4 KEDA cron 89 vs 88",
            base(88, json!([avg("1", json!(89))]), Value::Null),
            88,
            None,
        ),
        v(
            "4 Zalando 9000 / 833",
            base(8, json!([avg("833", json!(9000))]), Value::Null),
            11,
            None,
        ),
        v(
            "4 Zalando stuck at 11",
            base(11, json!([avg("833", json!(10000))]), Value::Null),
            11,
            None,
        ),
        v(
            "4 Crane 24 vs 22",
            base(22, json!([avg("1", json!(24))]), Value::Null),
            22,
            None,
        ),
        // 5. ratio exactly 1.1 holds on 1.33+
        v(
            "5 the upper edge",
            base(10, json!([val("10", json!(11))]), Value::Null),
            10,
            None,
        ),
        // 6. default behavior from 3 towards 50: +4 pods beats doubling; the legacy path doubles
        v(
            "6 first step",
            base(3, json!([avg("1", json!(50))]), json!({})),
            7,
            Some("ScaleUpLimit"),
        ),
        v(
            "6 next period",
            json!({"maxReplicas": 100, "currentReplicas": 7, "behavior": {},
                   "metrics": [avg("1", json!(50))],
                   "scaleEvents": {"up": [{"ageSeconds": 15, "change": 4}]}}),
            14,
            Some("ScaleUpLimit"),
        ),
        v(
            "6 legacy first step",
            base(3, json!([avg("1", json!(50))]), Value::Null),
            6,
            Some("ScaleUpLimit"),
        ),
        // 7. docs scale-down policies from 80: 10 % beats 4 pods
        v(
            "7 first step",
            base(
                80,
                json!([avg("1", json!(10))]),
                json!({"scaleDown": {"stabilizationWindowSeconds": 0,
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}, {"type": "Percent", "value": 10, "periodSeconds": 60}]}}),
            ),
            72,
            Some("ScaleDownLimit"),
        ),
        v(
            "7 next period",
            json!({"maxReplicas": 100, "currentReplicas": 72, "metrics": [avg("1", json!(10))],
                   "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0,
                     "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}, {"type": "Percent", "value": 10, "periodSeconds": 60}]}},
                   "scaleEvents": {"down": [{"ageSeconds": 60, "change": 8}]}}),
            64,
            Some("ScaleDownLimit"),
        ),
        // 8. a new HPA on 10 replicas whose metric wants 2: held for 300 s, then 2 in one step
        v(
            "8 held",
            base(10, json!([avg("1", json!(2))]), Value::Null),
            10,
            None,
        ),
        v(
            "8 after the window",
            json!({"maxReplicas": 100, "currentReplicas": 10, "metrics": [avg("1", json!(2))],
                   "recommendations": [{"ageSeconds": 301, "replicas": 10}]}),
            2,
            None,
        ),
        // 9. two metrics, one failing: fewer → no change; more → up
        v(
            "9 the healthy one wants fewer",
            base(
                5,
                json!([avg("1", json!(2)), {"target": {"type": "AverageValue", "value": "1"}, "error": "adapter down"}]),
                no_down_window(),
            ),
            5,
            None,
        ),
        v(
            "9 the healthy one wants more",
            base(
                5,
                json!([avg("1", json!(8)), {"target": {"type": "AverageValue", "value": "1"}, "error": "adapter down"}]),
                no_down_window(),
            ),
            8,
            None,
        ),
        // 10. no items is not zero
        v(
            "10 items []",
            base(5, json!([avg("1", json!([]))]), Value::Null),
            5,
            None,
        ),
    ]
}

#[test]
fn every_kubernetes_vector_through_explain_state() {
    let mut failures = Vec::new();
    for vector in vectors() {
        let (ok, out, err) = explain(&vector.doc);
        if !ok {
            failures.push(format!("{}: failed: {err}", vector.what));
            continue;
        }
        if out["desiredReplicas"] != vector.desired {
            failures.push(format!(
                "{}: desired {} (want {}): {}",
                vector.what, out["desiredReplicas"], vector.desired, out["why"]
            ));
        }
        if let Some(r) = vector.reason
            && out["reason"] != r
        {
            failures.push(format!(
                "{}: reason {} (want {r})",
                vector.what, out["reason"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_answer_shows_its_intermediate_values() {
    let doc = json!({"minReplicas": 2, "maxReplicas": 30, "currentReplicas": 10,
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        "metrics": [{"name": "s0-redis-jobs", "target": {"type": "AverageValue", "value": "5"}, "current": "20"}],
        "recommendations": [{"ageSeconds": 100, "replicas": 9}]});
    let (ok, out, err) = explain(&doc);
    assert!(ok, "{err}");
    // raw 4 (20 / 5), stabilised to 9 (the highest recommendation in the window)
    assert_eq!(out["rawRecommendation"], 4);
    assert_eq!(out["stabilized"], 9);
    assert_eq!(out["limited"], 9);
    assert_eq!(out["desiredReplicas"], 9);
    assert_eq!(out["driving"], "s0-redis-jobs");
    assert_eq!(out["metrics"][0]["replicas"], 4);
    assert!(out["why"].as_array().is_some_and(|w| !w.is_empty()));
}

#[test]
fn a_bad_document_names_the_field() {
    let cases = vec![
        (json!({"currentReplicas": 1, "metrics": []}), "maxReplicas"),
        (
            json!({"maxReplicas": 5, "currentReplicas": 1, "metrics": [{"target": {"type": "Average", "value": "1"}, "current": 1}]}),
            "metrics[0]: target.type \"Average\"",
        ),
        (
            json!({"maxReplicas": 5, "currentReplicas": 1, "metrics": [avg("1", json!("lots"))]}),
            "metrics[0].current",
        ),
        (
            json!({"maxReplicas": 5, "currentReplicas": 1, "metrics": [], "recommendations": [{"ageSeconds": -3, "replicas": 1}]}),
            "recommendations[0]",
        ),
        (
            json!({"maxReplicas": 5, "currentReplicas": 1, "metrics": [], "colour": "blue"}),
            "colour",
        ),
    ];
    for (doc, names) in cases {
        let (ok, _, err) = explain(&doc);
        assert!(!ok, "{doc} passed");
        assert!(err.contains(names), "{doc}: {err}");
    }
}
