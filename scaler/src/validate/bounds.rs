//! The numbers of a ScaledObject: what the CRD schema's minimums make the apiserver reject,
//! KEDA's replica-count rules (spec §1.1, §1.5), and the HPA behaviour limits the apiserver
//! checks when the HPA is written. Shared by `prescale validate` and the operator's plan.

use super::Problem;
use crate::api::ScaledObjectSpec;
use k8s_openapi::api::autoscaling::v2::HPAScalingRules;

/// `field: must be at least {min}` when the value is set and below `min` (CRD `minimum`).
fn at_least(out: &mut Vec<Problem>, field: &str, value: Option<i32>, min: i32) {
    if let Some(v) = value.filter(|v| *v < min) {
        out.push(Problem::new(
            field,
            format!("must be at least {min} (got {v})"),
        ));
    }
}

/// The spec's counts and periods.
pub fn check(spec: &ScaledObjectSpec) -> Vec<Problem> {
    let mut out = Vec::new();
    at_least(&mut out, "spec.pollingInterval", spec.polling_interval, 1);
    at_least(&mut out, "spec.cooldownPeriod", spec.cooldown_period, 0);
    at_least(
        &mut out,
        "spec.initialCooldownPeriod",
        spec.initial_cooldown_period,
        0,
    );
    at_least(
        &mut out,
        "spec.idleReplicaCount",
        spec.idle_replica_count,
        0,
    );
    at_least(&mut out, "spec.minReplicaCount", spec.min_replica_count, 0);
    at_least(&mut out, "spec.maxReplicaCount", spec.max_replica_count, 1);
    // effective min is max(min, 1) when set, 0 when unset (KEDA's quirk)
    let (min, max) = (spec.min_replica_count(), spec.max_replica_count());
    if min > max {
        out.push(Problem::new(
            "spec.minReplicaCount",
            format!("MinReplicaCount={min} must be less than MaxReplicaCount={max}"),
        ));
    }
    if let Some(idle) = spec.idle_replica_count {
        let effective_min = if spec.min_replica_count.is_some() {
            min.max(1)
        } else {
            0
        };
        if idle >= effective_min {
            out.push(Problem::new(
                "spec.idleReplicaCount",
                format!("IdleReplicaCount={idle} must be less than MinReplicaCount={min}"),
            ));
        }
    }
    if let Some(b) = spec.hpa_config().and_then(|c| c.behavior.as_ref()) {
        let base = "spec.advanced.horizontalPodAutoscalerConfig.behavior";
        for (name, rules) in [("scaleUp", &b.scale_up), ("scaleDown", &b.scale_down)] {
            if let Some(r) = rules {
                scaling_rules(&mut out, &format!("{base}.{name}"), r);
            }
        }
    }
    out
}

/// The HPA's `behavior` rules as the apiserver validates them.
fn scaling_rules(out: &mut Vec<Problem>, base: &str, r: &HPAScalingRules) {
    if let Some(w) = r
        .stabilization_window_seconds
        .filter(|w| !(0..=3600).contains(w))
    {
        out.push(Problem::new(
            format!("{base}.stabilizationWindowSeconds"),
            format!("must be between 0 and 3600 (got {w})"),
        ));
    }
    if let Some(s) = r
        .select_policy
        .as_deref()
        .filter(|s| !["Max", "Min", "Disabled"].contains(s))
    {
        out.push(Problem::new(
            format!("{base}.selectPolicy"),
            format!("must be Max, Min or Disabled (got {s:?})"),
        ));
    }
    for (i, p) in r.policies.iter().flatten().enumerate() {
        let field = format!("{base}.policies[{i}]");
        if !["Pods", "Percent"].contains(&p.type_.as_str()) {
            out.push(Problem::new(
                format!("{field}.type"),
                format!("must be Pods or Percent (got {:?})", p.type_),
            ));
        }
        if p.value < 1 {
            out.push(Problem::new(
                format!("{field}.value"),
                format!("must be at least 1 (got {})", p.value),
            ));
        }
        if !(1..=1800).contains(&p.period_seconds) {
            out.push(Problem::new(
                format!("{field}.periodSeconds"),
                format!("must be between 1 and 1800 (got {})", p.period_seconds),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(spec: serde_json::Value) -> Vec<String> {
        let mut base = json!({"scaleTargetRef": {"name": "app"}, "triggers": []});
        for (k, v) in spec.as_object().unwrap() {
            base[k] = v.clone();
        }
        let spec: ScaledObjectSpec = serde_json::from_value(base).unwrap();
        check(&spec)
            .into_iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    #[test]
    fn what_the_apiserver_or_the_hpa_would_reject() {
        let cases = [
            (
                json!({"maxReplicaCount": -1}),
                "spec.maxReplicaCount: must be at least 1 (got -1)",
            ),
            (
                json!({"maxReplicaCount": 0}),
                "spec.maxReplicaCount: must be at least 1 (got 0)",
            ),
            (
                json!({"minReplicaCount": -1}),
                "spec.minReplicaCount: must be at least 0 (got -1)",
            ),
            (
                json!({"pollingInterval": 0}),
                "spec.pollingInterval: must be at least 1 (got 0)",
            ),
            (
                json!({"pollingInterval": -1}),
                "spec.pollingInterval: must be at least 1 (got -1)",
            ),
            (
                json!({"cooldownPeriod": -5}),
                "spec.cooldownPeriod: must be at least 0 (got -5)",
            ),
            (
                json!({"initialCooldownPeriod": -5}),
                "spec.initialCooldownPeriod: must be at least 0 (got -5)",
            ),
            (
                json!({"idleReplicaCount": -1, "minReplicaCount": 2}),
                "spec.idleReplicaCount: must be at least 0 (got -1)",
            ),
            (
                json!({"idleReplicaCount": 3, "minReplicaCount": 3}),
                "spec.idleReplicaCount: IdleReplicaCount=3 must be less than MinReplicaCount=3",
            ),
            (
                json!({"minReplicaCount": 5, "maxReplicaCount": 2}),
                "spec.minReplicaCount: MinReplicaCount=5 must be less than MaxReplicaCount=2",
            ),
            (
                json!({"advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {
                    "stabilizationWindowSeconds": 4000,
                    "policies": [{"type": "Pods", "value": 0, "periodSeconds": 0}]}}}}}),
                "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds: must be between 0 and 3600 (got 4000)",
            ),
        ];
        for (spec, want) in cases {
            let got = fields(spec.clone());
            assert_eq!(
                got.first().map(String::as_str),
                Some(want),
                "{spec}: {got:?}"
            );
        }
        let policy = fields(
            json!({"advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
            "scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 1801}]}}}}}),
        );
        assert_eq!(policy.len(), 2, "{policy:?}");
        assert!(policy[1].ends_with("periodSeconds: must be between 1 and 1800 (got 1801)"));
    }

    #[test]
    fn what_keda_accepts_passes() {
        for spec in [
            json!({}),
            json!({"minReplicaCount": 0, "maxReplicaCount": 1, "pollingInterval": 1, "cooldownPeriod": 0}),
            // KEDA's quirk: a set minReplicaCount of 0 is compared as 1
            json!({"minReplicaCount": 0, "idleReplicaCount": 0}),
            json!({"minReplicaCount": 2, "idleReplicaCount": 1, "maxReplicaCount": 2}),
        ] {
            assert_eq!(fields(spec.clone()), Vec::<String>::new(), "{spec}");
        }
    }
}
