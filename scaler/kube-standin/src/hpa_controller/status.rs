//! The HPA status one sync writes, worded as `horizontal.go` words it.
//!
//! Conditions are set like `setCondition`: a type is added the first time it is set, its
//! `lastTransitionTime` changes only when its status flips, and types a path does not touch
//! keep what they had (the spec-outside-bounds path only sets AbleToScale; a failed metrics
//! path keeps the last `desiredReplicas` and `currentMetrics`). A status equal to the stored
//! one is not written, so watchers see only real changes.

use super::read::{Snapshot, Source};
use prescale_hpa_model::{Outcome, Reason};
use serde_json::{Value, json};

/// One condition to set: type, status, reason, message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Condition {
    pub kind: &'static str,
    pub ok: bool,
    pub reason: String,
    pub message: String,
}

pub(super) fn condition(kind: &'static str, ok: bool, reason: &str, message: String) -> Condition {
    Condition {
        kind,
        ok,
        reason: reason.to_string(),
        message,
    }
}

/// `conditions` with `updates` applied (`setConditionInList`).
fn merge_conditions(old: &Value, updates: &[Condition], now: &str) -> Value {
    let mut list: Vec<Value> = old.as_array().cloned().unwrap_or_default();
    for c in updates {
        let status = if c.ok { "True" } else { "False" };
        let i = match list.iter().position(|x| x["type"] == c.kind) {
            Some(i) => i,
            None => {
                list.push(json!({"type": c.kind}));
                list.len() - 1
            }
        };
        let e = &mut list[i];
        if e["status"] != status {
            e["lastTransitionTime"] = json!(now);
        }
        e["status"] = json!(status);
        e["reason"] = json!(c.reason);
        e["message"] = json!(c.message);
    }
    Value::Array(list)
}

/// An External metric's selector as Go's `%+v` prints a `*LabelSelector`.
pub(super) fn selector_text(selector: &Option<Value>) -> String {
    let Some(s) = selector else {
        return "<nil>".into();
    };
    let labels: String = s["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}: {},", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{}},}}"
    )
}

fn able_to_scale_message(reason: &str, desired: i32) -> String {
    match reason {
        "SucceededRescale" => {
            format!("the HPA controller was able to update the target scale to {desired}")
        }
        "ReadyForNewScale" => "recommended size matches current size".into(),
        "ScaleUpStabilized" => "recent recommendations were lower than current one, applying the lowest recent recommendation".into(),
        "ScaleDownStabilized" => "recent recommendations were higher than current one, applying the highest recent recommendation".into(),
        _ => "the HPA controller was able to get the target's current scale".into(),
    }
}

/// The metric that decided, as the ValidMetricFound message names it.
fn driving_metric(snap: &Snapshot, o: &Outcome) -> String {
    let mut best: Option<(i32, usize)> = None;
    for (i, p) in o.proposals.iter().enumerate() {
        if let Ok(p) = p
            && best.is_none_or(|(r, _)| r == 0 || p.replicas > r)
        {
            best = Some((p.replicas, i));
        }
    }
    let Some((_, i)) = best else {
        return String::new();
    };
    let name = &snap.spec.metrics[i].name;
    match &snap.sources[i] {
        Source::External { selector } => {
            format!("external metric {name}({})", selector_text(selector))
        }
        _ => format!("{name} resource utilization (percentage of request)"),
    }
}

/// `status.currentMetrics` from the proposals (a failed metric is an empty entry, as the
/// controller leaves it).
fn current_metrics(snap: &Snapshot, o: &Outcome) -> Value {
    let entries = o.proposals.iter().enumerate().map(|(i, p)| {
        let (Ok(p), Source::External { selector }) = (p, &snap.sources[i]) else {
            return json!({"type": ""});
        };
        let value = prescale_quantity::format_milli(p.usage);
        let current = match snap.spec.metrics[i].target {
            prescale_hpa_model::Target::AverageValue(_) => json!({"averageValue": value}),
            _ => json!({"value": value}),
        };
        let mut metric = json!({"name": snap.spec.metrics[i].name});
        if let Some(s) = selector {
            metric["selector"] = s.clone();
        }
        json!({"type": "External", "external": {"metric": metric, "current": current}})
    });
    Value::Array(entries.collect())
}

/// The conditions a sync sets before its `/scale` write: AbleToScale, and unless the spec was
/// outside the bounds, ScalingActive (and ScalingLimited when the metrics were used).
fn sync_conditions(snap: &Snapshot, o: &Outcome) -> Vec<Condition> {
    let get_scale = condition(
        "AbleToScale",
        true,
        "SucceededGetScale",
        able_to_scale_message("", 0),
    );
    let mut updates = vec![get_scale];
    let forced = o.raw.is_none() && o.scaling_active;
    if o.reason == Reason::ScalingDisabled || !o.scaling_active {
        updates.push(condition(
            "ScalingActive",
            false,
            o.reason.as_str(),
            o.message.clone(),
        ));
    } else if !forced {
        let message = format!(
            "the HPA was able to successfully calculate a replica count from {}",
            driving_metric(snap, o)
        );
        updates.push(condition(
            "ScalingActive",
            true,
            "ValidMetricFound",
            message,
        ));
        let (reason, desired) = (o.able_to_scale_reason, o.desired_replicas);
        updates.push(condition(
            "AbleToScale",
            true,
            reason,
            able_to_scale_message(reason, desired),
        ));
        updates.push(condition(
            "ScalingLimited",
            o.scaling_limited,
            o.reason.as_str(),
            o.message.clone(),
        ));
    }
    updates
}

/// The new status after a sync. `write_error` is the failed `/scale` write, if any.
pub(super) fn after_sync(
    old: &Value,
    snap: &Snapshot,
    o: &Outcome,
    write_error: Option<String>,
    now: &str,
) -> Value {
    let mut status = old.clone();
    if !status.is_object() {
        status = json!({});
    }
    status["currentReplicas"] = json!(snap.spec_replicas);
    if status["desiredReplicas"].is_null() {
        status["desiredReplicas"] = json!(0); // a required field: the controller writes 0
    }
    let mut updates = sync_conditions(snap, o);
    let forced = o.raw.is_none() && o.scaling_active;
    if let Some(e) = write_error {
        let message = format!("the HPA controller was unable to update the target scale: {e}");
        updates.push(condition(
            "AbleToScale",
            false,
            "FailedUpdateScale",
            message,
        ));
        status["conditions"] = merge_conditions(&old["conditions"], &updates, now);
        return status;
    }
    if forced && o.rescale {
        let message = able_to_scale_message("SucceededRescale", o.desired_replicas);
        updates.push(condition("AbleToScale", true, "SucceededRescale", message));
    }
    status["conditions"] = merge_conditions(&old["conditions"], &updates, now);
    let metrics_used = o.scaling_active || o.reason == Reason::ScalingDisabled;
    if metrics_used {
        status["desiredReplicas"] = json!(o.desired_replicas);
        match forced || o.reason == Reason::ScalingDisabled {
            true => remove(&mut status, "currentMetrics"),
            false => status["currentMetrics"] = current_metrics(snap, o),
        }
    }
    if o.rescale {
        status["lastScaleTime"] = json!(now);
    }
    status
}

/// The status when the sync stopped before the model (no target, no selector, bad spec).
pub(super) fn stopped(old: &Value, updates: &[Condition], now: &str) -> Value {
    let mut status = if old.is_object() {
        old.clone()
    } else {
        json!({})
    };
    status["conditions"] = merge_conditions(&old["conditions"], updates, now);
    status
}

fn remove(v: &mut Value, key: &str) {
    if let Some(m) = v.as_object_mut() {
        m.remove(key);
    }
}
