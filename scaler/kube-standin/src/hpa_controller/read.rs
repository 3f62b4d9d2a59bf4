//! What one sync reads from the store: the HPA's spec turned into the model's types, the
//! target's scale (spec and status replicas, resourceVersion, selector) and the ready pods.
//!
//! Targets are read as the controller reads them: `averageValue` wins over `value` whatever
//! `target.type` says (`computeStatusForExternalMetric` tests the fields), quantities become
//! milli-units with Kubernetes' rounding (`prescale-quantity`), and an HPA without metrics gets
//! the API server's default, cpu at 80 % utilisation.

use crate::resources::Resource;
use crate::store::State;
use prescale_hpa_model::{Behavior, HpaSpec, Metric, Milli, Target};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a metric's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Source {
    /// An External metric: fetched through the test's source.
    External { selector: Option<Value> },
    /// A Resource (or ContainerResource) metric: there is no metrics-server here.
    Resource,
    /// A spec the controller could not use (no target value, a kind not modelled).
    Invalid(String),
}

/// One sync's inputs.
#[derive(Debug, Clone)]
pub(super) struct Snapshot {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub spec: HpaSpec,
    pub sources: Vec<Source>,
    pub target: Resource,
    pub target_name: String,
    pub target_rv: String,
    pub spec_replicas: i32,
    pub status_replicas: i32,
    pub ready_pods: Option<i32>,
}

/// Why the sync stops before the model: the condition to write.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stop {
    pub kind: &'static str,
    pub reason: &'static str,
    pub message: String,
}

fn stop(kind: &'static str, reason: &'static str, message: String) -> Stop {
    Stop {
        kind,
        reason,
        message,
    }
}

/// Reads everything one HPA's sync needs.
pub(super) fn snapshot(s: &State, hpa: &Value) -> Result<Snapshot, Stop> {
    let meta = &hpa["metadata"];
    let namespace = meta["namespace"].as_str().unwrap_or("default").to_string();
    let spec = &hpa["spec"];
    let (target, obj) = scale_target(s, &namespace, &spec["scaleTargetRef"]).map_err(|e| {
        stop(
            "AbleToScale",
            "FailedGetScale",
            format!("the HPA controller was unable to get the target's current scale: {e}"),
        )
    })?;
    let paths = target.scale.clone().expect("scalable");
    let selector: BTreeMap<String, String> = obj
        .pointer(paths.selector_match_labels)
        .and_then(Value::as_object)
        .map(|m| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            m.iter().map(|(k, v)| (k.clone(), text(v))).collect()
        })
        .unwrap_or_default();
    if selector.is_empty() {
        let message = "the HPA target's scale is missing a selector".to_string();
        return Err(stop("ScalingActive", "InvalidSelector", message));
    }
    let (model, sources) = model_spec(spec).map_err(|e| {
        stop(
            "ScalingActive",
            "FailedConvertHPA",
            format!("the HPA could not be read: {e}"),
        )
    })?;
    let replicas =
        |p: &str, default: i64| obj.pointer(p).and_then(Value::as_i64).unwrap_or(default);
    Ok(Snapshot {
        uid: meta["uid"].as_str().unwrap_or_default().to_string(),
        name: meta["name"].as_str().unwrap_or_default().to_string(),
        spec: model,
        sources,
        target_name: obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        target_rv: obj["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        spec_replicas: replicas(paths.spec_replicas, 1) as i32,
        status_replicas: replicas(paths.status_replicas, 0) as i32,
        ready_pods: ready_pods(s, &namespace, &selector),
        target,
        namespace,
    })
}

/// The `/scale` target: its kind and the object.
fn scale_target(s: &State, ns: &str, r: &Value) -> Result<(Resource, Value), String> {
    let (api_version, kind) = (r["apiVersion"].as_str(), r["kind"].as_str());
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        return Err("scaleTargetRef needs apiVersion and kind".into());
    };
    let resource = s
        .resource_by_kind(api_version, kind)
        .filter(|r| r.scale.is_some())
        .ok_or_else(|| format!("no scale subresource for {kind} in {api_version}"))?;
    let name = r["name"].as_str().unwrap_or_default();
    let obj = s.get(&resource, ns, name).map_err(|e| e.2)?;
    Ok((resource, obj))
}

/// Pods matching the selector with phase Running and Ready=True; `None` when none match.
fn ready_pods(s: &State, ns: &str, selector: &BTreeMap<String, String>) -> Option<i32> {
    let pods = s.resource_by_kind("v1", "Pod")?;
    let matching: Vec<Value> = s
        .list(&pods, Some(ns))
        .into_iter()
        .filter(|p| {
            let labels = &p["metadata"]["labels"];
            selector.iter().all(|(k, v)| labels[k].as_str() == Some(v))
        })
        .collect();
    if matching.is_empty() {
        return None;
    }
    let ready = matching.iter().filter(|p| {
        let running = p["status"]["phase"] == "Running";
        let conditions = p["status"]["conditions"].as_array();
        running
            && conditions.is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    });
    Some(ready.count() as i32)
}

/// The HPA's spec in the model's terms, with each metric's source.
fn model_spec(spec: &Value) -> Result<(HpaSpec, Vec<Source>), String> {
    let behavior: Option<Behavior> = match &spec["behavior"] {
        Value::Null => None,
        b => Some(serde_json::from_value(b.clone()).map_err(|e| format!("spec.behavior: {e}"))?),
    };
    let default_metrics = [
        serde_json::json!({"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 80}}}),
    ];
    let listed = spec["metrics"].as_array().filter(|m| !m.is_empty());
    let mut metrics = Vec::new();
    let mut sources = Vec::new();
    for (i, m) in listed
        .map_or(&default_metrics[..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        let (metric, source) = metric(m).map_err(|e| format!("spec.metrics[{i}]: {e}"))?;
        metrics.push(metric);
        sources.push(source);
    }
    let max = spec["maxReplicas"]
        .as_i64()
        .ok_or("spec.maxReplicas is required")?;
    let model = HpaSpec {
        min_replicas: spec["minReplicas"].as_i64().unwrap_or(1) as i32,
        max_replicas: max as i32,
        metrics,
        behavior,
    };
    Ok((model, sources))
}

/// One `spec.metrics[]` entry.
fn metric(m: &Value) -> Result<(Metric, Source), String> {
    let kind = m["type"].as_str().unwrap_or_default();
    let named = |name: &Value, target: Target, source: Source| {
        let name = name.as_str().unwrap_or_default().to_string();
        (Metric { name, target }, source)
    };
    match kind {
        "External" => {
            let e = &m["external"];
            let selector = Some(e["metric"]["selector"].clone()).filter(|s| !s.is_null());
            let t = &e["target"];
            let (target, source) = if !t["averageValue"].is_null() {
                (
                    Target::AverageValue(milli(&t["averageValue"])?),
                    Source::External { selector },
                )
            } else if !t["value"].is_null() {
                (
                    Target::Value(milli(&t["value"])?),
                    Source::External { selector },
                )
            } else {
                let e = "invalid external metric source: neither a value target nor an average value target was set";
                (Target::Value(1), Source::Invalid(e.into()))
            };
            Ok(named(&m["external"]["metric"]["name"], target, source))
        }
        "Resource" | "ContainerResource" => {
            let r = if kind == "Resource" {
                &m["resource"]
            } else {
                &m["containerResource"]
            };
            let utilization = r["target"]["averageUtilization"].as_i64().unwrap_or(0) as i32;
            Ok(named(
                &r["name"],
                Target::Utilization(utilization),
                Source::Resource,
            ))
        }
        other => {
            let e = format!("the stand-in's HPA controller does not model {other:?} metrics");
            Ok(named(&Value::Null, Target::Value(1), Source::Invalid(e)))
        }
    }
}

/// A target quantity (string or number) in milli-units.
fn milli(v: &Value) -> Result<Milli, String> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("{other} is not a quantity")),
    };
    prescale_quantity::parse_quantity(&text).map(|q| q.milli)
}
