//! cpu/memory triggers need a request or limit of that resource on the scale target's
//! containers, or a LimitRange default for it in the namespace (KEDA's webhook check). Pure:
//! `prescale validate` gives it the manifests' objects, the admission webhook the cluster's.

use super::Problem;
use crate::api::ScaledObject;
use k8s_openapi::api::core::v1::{Container, LimitRange};

/// Whether the scale target kind is one whose containers are checked (as KEDA: Deployment and
/// StatefulSet only).
pub fn checked_kind(kind: &str) -> bool {
    ["Deployment", "StatefulSet"].contains(&kind)
}

/// Whether one of `limit_ranges` (those of the ScaledObject's namespace) defaults `resource`.
fn defaulted(limit_ranges: &[LimitRange], resource: &str) -> bool {
    limit_ranges.iter().any(|lr| {
        lr.spec.as_ref().is_some_and(|s| {
            s.limits.iter().any(|l| {
                l.default.as_ref().is_some_and(|d| d.contains_key(resource))
                    || l.default_request
                        .as_ref()
                        .is_some_and(|d| d.contains_key(resource))
            })
        })
    })
}

/// The problems of the cpu/memory triggers of `so` given the target's `containers` and the
/// LimitRanges of its namespace.
pub fn check(
    so: &ScaledObject,
    containers: &[Container],
    limit_ranges: &[LimitRange],
) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, trig) in so.spec.triggers.iter().enumerate() {
        let resource = trig.type_.as_str();
        if resource != "cpu" && resource != "memory" {
            continue;
        }
        if defaulted(limit_ranges, resource) {
            continue;
        }
        let wanted = trig.metadata.get("containerName");
        for c in containers
            .iter()
            .filter(|c| wanted.is_none_or(|w| *w == c.name))
        {
            let r = c.resources.as_ref();
            let has = r.is_some_and(|r| {
                r.requests
                    .as_ref()
                    .is_some_and(|m| m.contains_key(resource))
                    || r.limits.as_ref().is_some_and(|m| m.contains_key(resource))
            });
            if !has {
                out.push(Problem {
                    field: format!("spec.triggers[{i}]"),
                    trigger: Some(i),
                    message: format!("the scaledobject has a {resource} trigger but the container {} doesn't have the {resource} request defined", c.name),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn so(triggers: serde_json::Value) -> ScaledObject {
        serde_json::from_value(
            json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "a", "namespace": "ns"},
            "spec": {"scaleTargetRef": {"name": "web"}, "triggers": triggers}}),
        )
        .unwrap()
    }

    fn container(name: &str, resources: serde_json::Value) -> Container {
        serde_json::from_value(json!({"name": name, "resources": resources})).unwrap()
    }

    fn limit_range(default: serde_json::Value) -> LimitRange {
        serde_json::from_value(json!({"metadata": {"name": "lr", "namespace": "ns"},
            "spec": {"limits": [{"type": "Container", "default": default}]}}))
        .unwrap()
    }

    /// (triggers, containers, limit ranges, expected messages)
    type Case<'a> = (
        &'a serde_json::Value,
        Vec<Container>,
        Vec<LimitRange>,
        Vec<String>,
    );

    #[test]
    fn table() {
        let cpu = json!([{"type": "cpu", "metadata": {"value": "50"}}]);
        let cpu_in_app =
            json!([{"type": "cpu", "metadata": {"value": "50", "containerName": "app"}}]);
        let redis = json!([{"type": "redis", "metadata": {}}]);
        let none = json!({});
        let cpu_req = json!({"requests": {"cpu": "100m"}});
        let cpu_limit = json!({"limits": {"cpu": "1"}});
        let mem_req = json!({"requests": {"memory": "1Gi"}});
        let missing = |c: &str| {
            format!(
                "the scaledobject has a cpu trigger but the container {c} doesn't have the cpu request defined"
            )
        };
        // (triggers, containers, limit ranges, expected messages)
        let cases: Vec<Case> = vec![
            (
                &cpu,
                vec![container("app", cpu_req.clone())],
                vec![],
                vec![],
            ),
            (
                &cpu,
                vec![container("app", cpu_limit.clone())],
                vec![],
                vec![],
            ),
            (
                &cpu,
                vec![container("app", mem_req.clone())],
                vec![],
                vec![missing("app")],
            ),
            (
                &cpu,
                vec![
                    container("app", cpu_req.clone()),
                    container("side", none.clone()),
                ],
                vec![],
                vec![missing("side")],
            ),
            (
                &cpu_in_app,
                vec![
                    container("app", cpu_req.clone()),
                    container("side", none.clone()),
                ],
                vec![],
                vec![],
            ),
            (
                &cpu,
                vec![container("app", none.clone())],
                vec![limit_range(json!({"cpu": "1"}))],
                vec![],
            ),
            (
                &cpu,
                vec![container("app", none.clone())],
                vec![limit_range(json!({"memory": "1Gi"}))],
                vec![missing("app")],
            ),
            (&redis, vec![container("app", none.clone())], vec![], vec![]),
        ];
        for (i, (triggers, containers, lrs, want)) in cases.into_iter().enumerate() {
            let got: Vec<String> = check(&so(triggers.clone()), &containers, &lrs)
                .into_iter()
                .map(|p| p.message)
                .collect();
            assert_eq!(got, want, "case {i}");
        }
        assert!(checked_kind("StatefulSet") && !checked_kind("Rollout"));
    }
}
