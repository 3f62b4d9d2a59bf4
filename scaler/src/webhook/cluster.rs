//! KEDA's cluster checks of a ScaledObject, as pure functions of the objects read (table
//! tests below); the objects come from [`super::lookups::Lookups`].

use crate::api::ScaledObject;
use crate::hpa::hpa_name;
use crate::validate::Problem;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

/// An HPA annotated with this set to "false" is never counted as managing a workload.
pub const HPA_OWNERSHIP_VALIDATION: &str = "validations.keda.sh/hpa-ownership";
/// With this "true" on a ScaledObject, the HPA it names in
/// `spec.advanced.horizontalPodAutoscalerConfig.name` may be taken over.
pub const TRANSFER_HPA_OWNERSHIP: &str = "scaledobject.keda.sh/transfer-hpa-ownership";

/// `group/version.Kind` as KEDA prints a workload type (`apps/v1.Deployment`).
fn gvk(api_version: &str, kind: &str) -> String {
    format!("{api_version}.{kind}")
}

fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Another ScaledObject of the namespace already scales the same workload, or already uses
/// the same HPA name (KEDA's messages).
pub fn other_scaled_objects(so: &ScaledObject, others: &[ScaledObject]) -> Option<Problem> {
    let name = so.metadata.name.as_deref().unwrap_or_default();
    let t = &so.spec.scale_target_ref;
    let hpa = hpa_name(so);
    for other in others {
        let other_name = other.metadata.name.as_deref().unwrap_or_default();
        if other_name == name {
            continue;
        }
        let o = &other.spec.scale_target_ref;
        if gvk(o.api_version(), o.kind()) == gvk(t.api_version(), t.kind()) && o.name == t.name {
            return Some(Problem {
                field: "spec.scaleTargetRef".into(),
                trigger: None,
                message: format!(
                    "the workload '{}' of type '{}' is already managed by the ScaledObject '{other_name}'",
                    o.name,
                    gvk(t.api_version(), t.kind())
                ),
            });
        }
        if hpa_name(other) == hpa {
            return Some(Problem {
                field: "spec.advanced.horizontalPodAutoscalerConfig.name".into(),
                trigger: None,
                message: format!(
                    "the HPA '{hpa}' is already managed by the ScaledObject '{other_name}'"
                ),
            });
        }
    }
    None
}

/// An HPA the ScaledObject does not own already scales its workload (KEDA's messages),
/// unless the HPA opts out with `validations.keda.sh/hpa-ownership: "false"` or the
/// ScaledObject takes it over (`scaledobject.keda.sh/transfer-hpa-ownership: "true"` and
/// the HPA named in `horizontalPodAutoscalerConfig.name`).
pub fn unmanaged_hpa(so: &ScaledObject, hpas: &[HorizontalPodAutoscaler]) -> Option<Problem> {
    let name = so.metadata.name.as_deref().unwrap_or_default();
    let t = &so.spec.scale_target_ref;
    let annotation = |k: &str| {
        so.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(k))
            .map(String::as_str)
    };
    for hpa in hpas {
        let hpa_meta = &hpa.metadata;
        let opted_out = hpa_meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(HPA_OWNERSHIP_VALIDATION))
            .is_some_and(|v| v == "false");
        let r = &hpa.spec.scale_target_ref;
        // an HPA's scaleTargetRef may leave apiVersion out: then kind and name decide
        let same_group = r
            .api_version
            .as_deref()
            .is_none_or(|v| group(v) == group(t.api_version()));
        if opted_out || !same_group || r.kind != t.kind() || r.name != t.name {
            continue;
        }
        let owned = hpa_meta
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.kind == "ScaledObject" && o.name == name);
        if owned {
            continue;
        }
        let hpa_name = hpa_meta.name.as_deref().unwrap_or_default();
        let workload = gvk(t.api_version(), t.kind());
        if annotation(TRANSFER_HPA_OWNERSHIP) == Some("true") {
            let named = so.spec.hpa_config().and_then(|c| c.name.as_deref()) == Some(hpa_name);
            if named {
                continue;
            }
            return Some(Problem {
                field: "spec.advanced.horizontalPodAutoscalerConfig.name".into(),
                trigger: None,
                message: format!(
                    "the existing hpa '{hpa_name}' for workload '{}' of type '{workload}' must be specified by name in advanced settings to enable ownership transfer",
                    t.name
                ),
            });
        }
        return Some(Problem {
            field: "spec.scaleTargetRef".into(),
            trigger: None,
            message: format!(
                "the workload '{}' of type '{workload}' is already managed by the hpa '{hpa_name}'",
                t.name
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn so(name: &str, target: Value, extra: Value) -> ScaledObject {
        let mut v = json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"scaleTargetRef": target, "triggers": [{"type": "cpu", "metadata": {"value": "5"}}]}});
        json_merge(&mut v, extra);
        serde_json::from_value(v).unwrap()
    }

    fn json_merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    json_merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn hpa(name: &str, target: Value, meta: Value) -> HorizontalPodAutoscaler {
        let mut m = json!({"name": name, "namespace": "ns"});
        json_merge(&mut m, meta);
        serde_json::from_value(json!({"metadata": m,
            "spec": {"scaleTargetRef": target, "maxReplicas": 5}}))
        .unwrap()
    }

    #[test]
    fn other_scaled_object_table() {
        let web = json!({"name": "web"});
        let incoming = so("a", web.clone(), json!({}));
        let cases: Vec<(Vec<ScaledObject>, Option<&str>)> = vec![
            (vec![], None),
            (vec![so("a", web.clone(), json!({}))], None), // itself (an update)
            (vec![so("b", json!({"name": "api"}), json!({}))], None),
            (
                vec![so(
                    "b",
                    json!({"name": "web", "kind": "StatefulSet"}),
                    json!({}),
                )],
                None,
            ),
            (
                vec![so("b", web.clone(), json!({}))],
                Some(
                    "the workload 'web' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'b'",
                ),
            ),
            (
                vec![so(
                    "b",
                    json!({"name": "web", "apiVersion": "apps/v1", "kind": "Deployment"}),
                    json!({}),
                )],
                Some(
                    "the workload 'web' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'b'",
                ),
            ),
            (
                vec![so(
                    "b",
                    json!({"name": "api"}),
                    json!({"spec": {"advanced": {"horizontalPodAutoscalerConfig": {"name": "keda-hpa-a"}}}}),
                )],
                Some("the HPA 'keda-hpa-a' is already managed by the ScaledObject 'b'"),
            ),
        ];
        for (i, (others, want)) in cases.into_iter().enumerate() {
            let got = other_scaled_objects(&incoming, &others).map(|p| p.message);
            assert_eq!(got.as_deref(), want, "case {i}");
        }
    }

    #[test]
    fn unmanaged_hpa_table() {
        let web = json!({"name": "web"});
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"});
        let plain = so("a", web.clone(), json!({}));
        let transfer = so(
            "a",
            web.clone(),
            json!({"metadata": {"annotations": {TRANSFER_HPA_OWNERSHIP: "true"}},
            "spec": {"advanced": {"horizontalPodAutoscalerConfig": {"name": "old"}}}}),
        );
        let transfer_unnamed = so(
            "a",
            web.clone(),
            json!({"metadata": {"annotations": {TRANSFER_HPA_OWNERSHIP: "true"}}}),
        );
        let owned = json!({"ownerReferences": [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "a", "uid": "1"}]});
        let managed =
            "the workload 'web' of type 'apps/v1.Deployment' is already managed by the hpa 'old'";
        let cases: Vec<(&ScaledObject, Vec<HorizontalPodAutoscaler>, Option<&str>)> = vec![
            (&plain, vec![], None),
            (
                &plain,
                vec![hpa("old", dep.clone(), json!({}))],
                Some(managed),
            ),
            (
                &plain,
                vec![hpa(
                    "old",
                    json!({"kind": "Deployment", "name": "web"}),
                    json!({}),
                )],
                Some(managed),
            ),
            (
                &plain,
                vec![hpa(
                    "old",
                    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web"}),
                    json!({}),
                )],
                None,
            ),
            (
                &plain,
                vec![hpa(
                    "old",
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}),
                    json!({}),
                )],
                None,
            ),
            (
                &plain,
                vec![hpa("keda-hpa-a", dep.clone(), owned.clone())],
                None,
            ),
            (
                &plain,
                vec![hpa(
                    "old",
                    dep.clone(),
                    json!({"annotations": {HPA_OWNERSHIP_VALIDATION: "false"}}),
                )],
                None,
            ),
            (&transfer, vec![hpa("old", dep.clone(), json!({}))], None),
            (
                &transfer_unnamed,
                vec![hpa("old", dep.clone(), json!({}))],
                Some(
                    "the existing hpa 'old' for workload 'web' of type 'apps/v1.Deployment' must be specified by name in advanced settings to enable ownership transfer",
                ),
            ),
        ];
        for (i, (so, hpas, want)) in cases.into_iter().enumerate() {
            let got = unmanaged_hpa(so, &hpas).map(|p| p.message);
            assert_eq!(got.as_deref(), want, "case {i}");
        }
    }
}
