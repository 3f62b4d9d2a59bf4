//! The HorizontalPodAutoscaler KEDA would create for a ScaledObject (spec §3.2–3.4): name,
//! labels, annotations, owner, bounds, behavior, and metrics sorted by type.

use crate::api::ScaledObject;
use crate::scaling::pause::Pause;
use crate::trigger::COMPOSITE_METRIC;
use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricSource, CrossVersionObjectReference, ExternalMetricSource,
    HorizontalPodAutoscaler, HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec,
    MetricIdentifier, MetricSpec as HpaMetricSpec, MetricTarget as HpaMetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Resource;
use kube::api::ObjectMeta;
use prescale_scalers::{MetricSpec, MetricTarget, MetricType};
use std::collections::BTreeMap;

pub use crate::api::SCALED_OBJECT_NAME_LABEL;
pub const EXCLUDED_LABELS_ANNOTATION: &str = "scaledobject.keda.sh/hpa-excluded-labels";

/// `advanced.horizontalPodAutoscalerConfig.name` or `keda-hpa-<name>`.
pub fn hpa_name(so: &ScaledObject) -> String {
    so.spec
        .hpa_config()
        .and_then(|c| c.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            format!(
                "keda-hpa-{}",
                so.metadata.name.as_deref().unwrap_or_default()
            )
        })
}

fn label_value(s: &str) -> String {
    let cut: String = s.chars().take(63).collect();
    cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// `scalingModifiers` as the HPA sees them: the composite target.
pub struct CompositeTarget {
    pub target: MetricTarget,
}

fn hpa_target(t: &MetricTarget) -> HpaMetricTarget {
    HpaMetricTarget {
        type_: t.metric_type.as_str().to_string(),
        value: t.value.clone().map(Quantity),
        average_value: t.average_value.clone().map(Quantity),
        average_utilization: t.average_utilization,
    }
}

fn external(name: &str, target: &MetricTarget, so_name: &str) -> HpaMetricSpec {
    HpaMetricSpec {
        type_: "External".into(),
        external: Some(ExternalMetricSource {
            metric: MetricIdentifier {
                name: name.to_string(),
                selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        SCALED_OBJECT_NAME_LABEL.to_string(),
                        so_name.to_string(),
                    )])),
                    match_expressions: None,
                }),
            },
            target: hpa_target(target),
        }),
        ..HpaMetricSpec::default()
    }
}

/// The HPA metrics for the triggers' metric specs, sorted by metric type as KEDA does.
pub fn metrics(
    so_name: &str,
    specs: &[MetricSpec],
    composite: Option<&CompositeTarget>,
) -> Vec<HpaMetricSpec> {
    let mut out: Vec<HpaMetricSpec> = Vec::new();
    for spec in specs {
        match spec {
            MetricSpec::External { name, target } => {
                if composite.is_none() {
                    out.push(external(name, target, so_name));
                }
            }
            MetricSpec::Resource {
                name,
                container: Some(c),
                target,
            } => out.push(HpaMetricSpec {
                type_: "ContainerResource".into(),
                container_resource: Some(ContainerResourceMetricSource {
                    name: name.clone(),
                    container: c.clone(),
                    target: hpa_target(target),
                }),
                ..HpaMetricSpec::default()
            }),
            MetricSpec::Resource {
                name,
                container: None,
                target,
            } => out.push(HpaMetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: name.clone(),
                    target: hpa_target(target),
                }),
                ..HpaMetricSpec::default()
            }),
        }
    }
    if let Some(c) = composite {
        out.push(external(COMPOSITE_METRIC, &c.target, so_name));
    }
    out.sort_by(|a, b| a.type_.cmp(&b.type_));
    out
}

fn behavior(so: &ScaledObject, pause: &Pause) -> Option<HorizontalPodAutoscalerBehavior> {
    let mut b = so.spec.hpa_config().and_then(|c| c.behavior.clone());
    if pause.scale_in || pause.scale_out {
        let b = b.get_or_insert_with(HorizontalPodAutoscalerBehavior::default);
        if pause.scale_in {
            b.scale_down
                .get_or_insert_with(Default::default)
                .select_policy = Some("Disabled".into());
        }
        if pause.scale_out {
            b.scale_up
                .get_or_insert_with(Default::default)
                .select_policy = Some("Disabled".into());
        }
    }
    b
}

/// The full HPA object.
pub fn build(
    so: &ScaledObject,
    specs: &[MetricSpec],
    composite: Option<&CompositeTarget>,
    pause: &Pause,
) -> HorizontalPodAutoscaler {
    let so_name = so.metadata.name.clone().unwrap_or_default();
    let name = hpa_name(so);
    let annotations = so.metadata.annotations.clone().unwrap_or_default();
    let excluded: Vec<String> = annotations
        .get(EXCLUDED_LABELS_ANNOTATION)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let mut labels: BTreeMap<String, String> = so
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !excluded.contains(k))
        .collect();
    labels.insert(SCALED_OBJECT_NAME_LABEL.into(), so_name.clone());
    labels.insert("app.kubernetes.io/name".into(), label_value(&name));
    labels.insert(
        "app.kubernetes.io/version".into(),
        env!("CARGO_PKG_VERSION").into(),
    );
    labels.insert("app.kubernetes.io/part-of".into(), label_value(&so_name));
    // KEDA's value, so tools that select KEDA-managed HPAs keep finding them
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        "keda-operator".into(),
    );
    let target = &so.spec.scale_target_ref;
    let min = so.spec.min_replica_count();
    HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: so.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            owner_references: so.controller_owner_ref(&()).map(|r| vec![r]),
            ..ObjectMeta::default()
        },
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some(target.api_version().to_string()),
                kind: target.kind().to_string(),
                name: target.name.clone(),
            },
            min_replicas: Some(if min > 0 { min } else { 1 }),
            max_replicas: so.spec.max_replica_count(),
            metrics: Some(metrics(&so_name, specs, composite)),
            behavior: behavior(so, pause),
        },
        status: None,
    }
}

/// The composite target of `scalingModifiers` (`target` parsed as a float, metricType
/// `AverageValue` unless `Value`).
pub fn composite_target(so: &ScaledObject) -> Option<Result<CompositeTarget, String>> {
    let m = so.spec.scaling_modifiers()?;
    let metric_type = match m.metric_type.as_deref().unwrap_or("") {
        "" | "AverageValue" => MetricType::AverageValue,
        "Value" => MetricType::Value,
        other => {
            return Some(Err(format!(
                "scalingModifiers.metricType {other:?} must be AverageValue or Value"
            )));
        }
    };
    Some(match m.target.trim().parse::<f64>() {
        Ok(t) if t > 0.0 => Ok(CompositeTarget {
            target: MetricTarget::from_float(metric_type, t),
        }),
        _ => Err(format!(
            "scalingModifiers.target {:?} must be a number greater than 0",
            m.target
        )),
    })
}

/// Labels whose value does not make an HPA stale: `app.kubernetes.io/version` names the
/// release that wrote the HPA (KEDA's on an HPA KEDA made), so an HPA adopted from KEDA is not
/// rewritten only to change it.
const INFORMATIONAL_LABELS: [&str; 1] = ["app.kubernetes.io/version"];

/// KEDA's update rule: an HPA is rewritten unless its spec equals the desired one and the
/// desired labels (but the version label), annotations and controller owner are already on
/// it. The owner reference is compared without `blockOwnerDeletion`, which KEDA's
/// controller-runtime sets and this operator's does not: the same owner either way.
pub fn matches(existing: &HorizontalPodAutoscaler, desired: &HorizontalPodAutoscaler) -> bool {
    let subset = |want: &Option<BTreeMap<String, String>>,
                  have: &Option<BTreeMap<String, String>>,
                  skip: &[&str]| {
        want.iter()
            .flatten()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .all(|(k, v)| have.as_ref().and_then(|h| h.get(k)) == Some(v))
    };
    let owners = |h: &HorizontalPodAutoscaler| {
        h.metadata
            .owner_references
            .iter()
            .flatten()
            .map(|r| {
                (
                    r.api_version.clone(),
                    r.kind.clone(),
                    r.name.clone(),
                    r.uid.clone(),
                    r.controller.unwrap_or(false),
                )
            })
            .collect::<Vec<_>>()
    };
    defaulted(&existing.spec) == defaulted(&desired.spec)
        && subset(
            &desired.metadata.labels,
            &existing.metadata.labels,
            &INFORMATIONAL_LABELS,
        )
        && subset(
            &desired.metadata.annotations,
            &existing.metadata.annotations,
            &[],
        )
        && owners(existing) == owners(desired)
}

/// `spec` as the API server stores it (`SetDefaults_HorizontalPodAutoscalerBehavior`): when
/// `behavior` is present, a missing `scaleUp`/`scaleDown`, `selectPolicy` or `policies` is
/// filled in (kubernetes.md §B.5). Compared after this, an HPA the server defaulted matches
/// the partial `behavior` a ScaledObject asks for, so it is not rewritten at every reconcile.
pub fn defaulted(spec: &HorizontalPodAutoscalerSpec) -> HorizontalPodAutoscalerSpec {
    use k8s_openapi::api::autoscaling::v2::{HPAScalingPolicy, HPAScalingRules};
    let policy = |type_: &str, value| HPAScalingPolicy {
        type_: type_.into(),
        value,
        period_seconds: 15,
    };
    let fill = |rules: &Option<HPAScalingRules>, window: Option<i32>, policies| {
        let mut r = rules.clone().unwrap_or_default();
        r.select_policy.get_or_insert_with(|| "Max".into());
        if r.stabilization_window_seconds.is_none() {
            r.stabilization_window_seconds = window;
        }
        r.policies.get_or_insert(policies);
        Some(r)
    };
    let mut spec = spec.clone();
    if let Some(b) = spec.behavior.as_mut() {
        b.scale_up = fill(
            &b.scale_up,
            Some(0),
            vec![policy("Pods", 4), policy("Percent", 100)],
        );
        b.scale_down = fill(&b.scale_down, None, vec![policy("Percent", 100)]);
    }
    spec
}

/// An HPA metric target in the HPA model's terms (milli-units, as the controller computes).
pub fn model_target(t: &HpaMetricTarget) -> Result<prescale_hpa_model::Target, String> {
    use prescale_hpa_model::Target;
    let milli = |q: &Option<Quantity>, field: &str| {
        let q = q
            .as_ref()
            .ok_or_else(|| format!("target.{field} is missing"))?;
        prescale_quantity::parse_quantity(&q.0)
            .map(|q| q.milli)
            .map_err(|e| format!("target.{field}: {e}"))
    };
    match t.type_.as_str() {
        "Value" => Ok(Target::Value(milli(&t.value, "value")?)),
        "AverageValue" => Ok(Target::AverageValue(milli(
            &t.average_value,
            "averageValue",
        )?)),
        "Utilization" => t
            .average_utilization
            .map(Target::Utilization)
            .ok_or_else(|| "target.averageUtilization is missing".to_string()),
        other => Err(format!(
            "target.type {other:?} is not Value, AverageValue or Utilization"
        )),
    }
}

/// An HPA as the HPA model sees it: bounds, behavior (same field names) and one metric per
/// spec entry (External by metric name, Resource by resource name).
pub fn model_spec(hpa: &HorizontalPodAutoscaler) -> Result<prescale_hpa_model::HpaSpec, String> {
    let mut metrics = Vec::new();
    for m in hpa.spec.metrics.iter().flatten() {
        let (name, target) = if let Some(e) = &m.external {
            (e.metric.name.clone(), &e.target)
        } else if let Some(r) = &m.resource {
            (r.name.clone(), &r.target)
        } else if let Some(c) = &m.container_resource {
            (format!("{}/{}", c.container, c.name), &c.target)
        } else {
            return Err(format!("HPA metric of type {} is not modelled", m.type_));
        };
        let target = model_target(target).map_err(|e| format!("metric {name}: {e}"))?;
        metrics.push(prescale_hpa_model::Metric { name, target });
    }
    let behavior = match &hpa.spec.behavior {
        Some(b) => Some(
            serde_json::to_value(b)
                .and_then(serde_json::from_value)
                .map_err(|e| format!("spec.behavior: {e}"))?,
        ),
        None => None,
    };
    Ok(prescale_hpa_model::HpaSpec {
        min_replicas: hpa.spec.min_replicas.unwrap_or(1),
        max_replicas: hpa.spec.max_replicas,
        metrics,
        behavior,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    fn hpa(version: &str, block: Option<bool>, max: i32) -> HorizontalPodAutoscaler {
        HorizontalPodAutoscaler {
            metadata: ObjectMeta {
                labels: Some(BTreeMap::from([
                    ("app.kubernetes.io/version".to_string(), version.to_string()),
                    ("team".to_string(), "queue".to_string()),
                ])),
                owner_references: Some(vec![OwnerReference {
                    api_version: "keda.sh/v1alpha1".into(),
                    kind: "ScaledObject".into(),
                    name: "worker".into(),
                    uid: "u1".into(),
                    controller: Some(true),
                    block_owner_deletion: block,
                }]),
                ..ObjectMeta::default()
            },
            spec: HorizontalPodAutoscalerSpec {
                max_replicas: max,
                ..HorizontalPodAutoscalerSpec::default()
            },
            status: None,
        }
    }

    #[test]
    fn an_hpa_keda_made_matches_but_a_different_one_does_not() {
        let desired = hpa("0.1.0", None, 10);
        // KEDA's version label and blockOwnerDeletion: the same HPA
        assert!(matches(&hpa("2.16.1", Some(true), 10), &desired));
        assert!(matches(&desired, &desired));
        // another spec, another owner, a label missing: rewritten
        assert!(!matches(&hpa("2.16.1", Some(true), 20), &desired));
        let mut other_owner = hpa("0.1.0", None, 10);
        other_owner.metadata.owner_references.as_mut().unwrap()[0].uid = "u2".into();
        assert!(!matches(&other_owner, &desired));
        let mut no_team = hpa("0.1.0", None, 10);
        no_team.metadata.labels.as_mut().unwrap().remove("team");
        assert!(!matches(&no_team, &desired));
        let mut not_controller = hpa("0.1.0", None, 10);
        not_controller.metadata.owner_references.as_mut().unwrap()[0].controller = None;
        assert!(!matches(&not_controller, &desired));
    }

    /// The API server fills a partial `behavior` in; the HPA it stores matches the partial one
    /// asked for, a really different one does not, and no `behavior` stays none.
    #[test]
    fn a_partial_behavior_matches_what_the_server_stores() {
        use k8s_openapi::api::autoscaling::v2::{HPAScalingPolicy, HPAScalingRules};
        let rules =
            |window: Option<i32>, select: Option<&str>, policies: Option<Vec<(&str, i32)>>| {
                Some(HPAScalingRules {
                    stabilization_window_seconds: window,
                    select_policy: select.map(Into::into),
                    policies: policies.map(|p| {
                        p.into_iter()
                            .map(|(t, v)| HPAScalingPolicy {
                                type_: t.into(),
                                value: v,
                                period_seconds: 15,
                            })
                            .collect()
                    }),
                    ..Default::default()
                })
            };
        let with = |up, down| {
            let mut h = hpa("0.1.0", None, 10);
            h.spec.behavior = Some(HorizontalPodAutoscalerBehavior {
                scale_up: up,
                scale_down: down,
            });
            h
        };
        let asked = with(None, rules(Some(60), None, None));
        let stored = with(
            rules(
                Some(0),
                Some("Max"),
                Some(vec![("Pods", 4), ("Percent", 100)]),
            ),
            rules(Some(60), Some("Max"), Some(vec![("Percent", 100)])),
        );
        let cases = [
            ("server defaults filled in", &stored, true),
            (
                "another scale-down window",
                &with(
                    stored.spec.behavior.clone().unwrap().scale_up,
                    rules(Some(30), Some("Max"), Some(vec![("Percent", 100)])),
                ),
                false,
            ),
            (
                "another scale-up policy",
                &with(
                    rules(Some(0), Some("Max"), Some(vec![("Pods", 2)])),
                    rules(Some(60), Some("Max"), Some(vec![("Percent", 100)])),
                ),
                false,
            ),
            (
                "Min instead of Max",
                &with(
                    rules(
                        Some(0),
                        Some("Min"),
                        Some(vec![("Pods", 4), ("Percent", 100)]),
                    ),
                    rules(Some(60), Some("Max"), Some(vec![("Percent", 100)])),
                ),
                false,
            ),
            ("no behavior at all", &hpa("0.1.0", None, 10), false),
        ];
        for (what, existing, want) in cases {
            assert_eq!(matches(existing, &asked), want, "{what}");
        }
        // no behavior asked: nothing is defaulted, so an HPA without one matches
        let none = hpa("0.1.0", None, 10);
        assert!(matches(&none, &none));
        assert!(defaulted(&none.spec).behavior.is_none());
    }
}
