//! The serde forms: `behavior` as the API writes it (with its defaults), tolerances as
//! quantities or numbers, and the outcome as camelCase JSON with reasons as strings.

use super::*;
use serde_json::json;

#[test]
fn behavior_reads_the_api_form() {
    let b: Behavior = serde_json::from_value(json!({
        "scaleUp": {"stabilizationWindowSeconds": 30, "selectPolicy": "Min",
                    "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
                    "tolerance": "50m"},
        "scaleDown": {"selectPolicy": "Disabled", "tolerance": 0.25}
    }))
    .expect("behavior");
    let up = b.scale_up.as_ref().expect("scaleUp");
    assert_eq!(up.stabilization_window_seconds, Some(30));
    assert_eq!(up.select_policy, Some(SelectPolicy::Min));
    assert_eq!(up.policies, Some(vec![Policy::pods(2, 60)]));
    assert_eq!(up.tolerance, Some(50.0 * 0.001));
    let down = b.scale_down.as_ref().expect("scaleDown");
    assert_eq!(
        (down.select_policy, down.tolerance),
        (Some(SelectPolicy::Disabled), Some(0.25))
    );
    // round trip
    let back: Behavior =
        serde_json::from_value(serde_json::to_value(&b).expect("json")).expect("back");
    assert_eq!(back, b);
}

#[test]
fn tolerance_forms() {
    let read = |v: serde_json::Value| -> Result<Option<f64>, String> {
        serde_json::from_value::<ScalingRules>(json!({ "tolerance": v }))
            .map(|r| r.tolerance)
            .map_err(|e| e.to_string())
    };
    assert_eq!(read(json!("0.05")), Ok(Some(5.0 * 0.01)));
    assert_eq!(read(json!(0.05)), Ok(Some(5.0 * 0.01)));
    assert_eq!(read(json!(0)), Ok(Some(0.0)));
    assert_eq!(read(json!(null)), Ok(None));
    assert!(read(json!("five")).is_err());
    assert!(read(json!(true)).is_err());
    let absent: ScalingRules = serde_json::from_value(json!({})).expect("empty rules");
    assert_eq!(absent.tolerance, None);
}

#[test]
fn defaults_filled_only_where_unset() {
    let b: Behavior = serde_json::from_value(json!({"scaleDown": {"policies": [
        {"type": "Percent", "value": 10, "periodSeconds": 60}]}}))
    .expect("behavior");
    let d = b.defaulted();
    assert_eq!(d.scale_up, Some(ScalingRules::scale_up_defaults()));
    let down = d.scale_down.expect("scaleDown");
    assert_eq!(down.policies, Some(vec![Policy::percent(10, 60)]));
    assert_eq!(down.select_policy, Some(SelectPolicy::Max));
    assert_eq!(down.stabilization_window_seconds, None); // the controller's flag decides
    let empty = Behavior::default().defaulted();
    assert_eq!(empty.scale_down, Some(ScalingRules::scale_down_defaults()));
}

#[test]
fn outcome_serialises_camel_case_with_reason_strings() {
    let s = spec(1, 10, vec![average("queue", 1000)], None);
    let (o, h) = sync(
        &s,
        &ControllerConfig::default(),
        &History::default(),
        0,
        &settled(2, &[4_000]),
    );
    let v = serde_json::to_value(&o).expect("json");
    assert_eq!(v["desiredReplicas"], json!(4));
    assert_eq!(v["reason"], json!("DesiredWithinRange"));
    assert_eq!(v["ableToScaleReason"], json!("SucceededRescale"));
    assert_eq!(v["proposals"][0]["Ok"]["withinTolerance"], json!(false));
    assert_eq!(v["scalingActive"], json!(true));
    let back: Outcome = serde_json::from_value(v).expect("outcome back");
    assert_eq!(back, o);
    let hv = serde_json::to_value(&h).expect("history");
    assert_eq!(hv["recommendations"][0], json!({"atMs": 0, "replicas": 2}));
    assert_eq!(
        serde_json::from_value::<History>(hv).expect("history back"),
        h
    );
    let bad = json!({"ableToScaleReason": "Nope"});
    assert!(serde_json::from_value::<Outcome>(bad).is_err());
}

#[test]
fn reason_strings_match_as_str() {
    use Reason::*;
    for r in [
        DesiredWithinRange,
        TooFewReplicas,
        TooManyReplicas,
        ScaleUpLimit,
        ScaleDownLimit,
        ScalingDisabled,
        FailedGetExternalMetric,
        FailedGetResourceMetric,
    ] {
        assert_eq!(serde_json::to_value(r).expect("json"), json!(r.as_str()));
    }
}

#[test]
fn spec_and_config_round_trip() {
    let s = spec(
        2,
        9,
        vec![value("v", 500), average("a", 1000)],
        Some(Behavior::default()),
    );
    let v = serde_json::to_value(&s).expect("spec");
    assert_eq!(v["minReplicas"], json!(2));
    assert_eq!(serde_json::from_value::<HpaSpec>(v).expect("back"), s);
    let c: ControllerConfig = serde_json::from_value(json!({"tolerance": 0.2})).expect("config");
    assert_eq!(
        c,
        ControllerConfig {
            tolerance: 0.2,
            ..ControllerConfig::default()
        }
    );
}
