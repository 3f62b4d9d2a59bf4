//! `prescale explain`: why a workload has the replicas it has. For a ScaledObject on a live
//! cluster ([`live`]) or a captured HPA situation ([`state`]): each trigger's value, target,
//! activity and health; which metric drives the HPA; what the HPA model (the Kubernetes HPA
//! controller's algorithm, `prescale-hpa-model`) wants for the current state and why
//! (tolerance, stabilisation, policy limit, bounds, floor); the floor or cap in force and the
//! next planned change.

pub mod live;
mod render;
pub mod state;
#[cfg(test)]
mod tests;

use crate::api::ScaledObject;
use prescale_hpa_model::{ControllerConfig, History, HpaSpec, Observation, Outcome, Proposal};
use serde::Serialize;

pub use render::{target_text, text};

/// One trigger as `explain` shows it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerView {
    pub index: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "type")]
    pub trigger_type: String,
    /// The external metric it feeds (none for cpu/memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// `Happy` / `Failing` with the failure count, when a fallback keeps health.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One metric's part in the HPA's decision.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricView {
    pub metric: String,
    #[serde(flatten)]
    pub proposal: Option<Proposal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the HPA model says about the state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelView {
    pub desired_replicas: i32,
    pub reason: String,
    pub current_replicas: i32,
    /// The combined recommendation before stabilisation and limits.
    pub raw_recommendation: Option<i32>,
    pub stabilized: i32,
    pub limited: i32,
    pub scaling_active: bool,
    pub able_to_scale: String,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub metrics: Vec<MetricView>,
    /// The metric whose proposal is the recommendation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driving: Option<String>,
    /// The steps in words.
    pub why: Vec<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scaled_object: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hpa_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<TriggerView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// What the cluster's HPA last decided (its status), beside the model's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hpa_status_desired: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_scaling: Option<crate::api::PreScalingStatus>,
    /// Assumptions and gaps, said plainly.
    pub notes: Vec<String>,
}

impl Explanation {
    /// The ScaledObject's side: its name, target, triggers and pre-scaling state.
    pub fn new(so: &ScaledObject, target_kind: String, triggers: Vec<TriggerView>) -> Self {
        let ns = so.metadata.namespace.clone().unwrap_or_default();
        let name = so.metadata.name.clone().unwrap_or_default();
        Self {
            scaled_object: format!("{ns}/{name}"),
            target: format!("{target_kind} {ns}/{}", so.spec.scale_target_ref.name),
            triggers,
            pre_scaling: so.status.as_ref().and_then(|s| s.pre_scaling.clone()),
            ..Self::default()
        }
    }

    /// Runs the HPA model on the state and records what it says. `live` adds the note that
    /// the controller's memory (recommendations, scale events) cannot be read.
    pub fn model(&mut self, spec: &HpaSpec, history: &History, obs: &Observation, live: bool) {
        let config = ControllerConfig::default();
        self.model_with(spec, &config, history, obs);
        if live {
            self.notes.push(
                "the HPA controller keeps its recent recommendations and scale events in memory; \
                 this answer assumes none but the current replicas (a fresh controller)"
                    .into(),
            );
        }
    }

    /// [`Explanation::model`] with a controller configuration (tolerance, windows).
    pub fn model_with(
        &mut self,
        spec: &HpaSpec,
        config: &ControllerConfig,
        history: &History,
        obs: &Observation,
    ) {
        let (outcome, _) = prescale_hpa_model::sync(spec, config, history, 0, obs);
        self.model = Some(view(spec, config, obs, &outcome));
    }
}

/// The model's outcome as shown, with its steps in words.
fn view(spec: &HpaSpec, config: &ControllerConfig, obs: &Observation, o: &Outcome) -> ModelView {
    let metrics: Vec<MetricView> = spec
        .metrics
        .iter()
        .zip(&o.proposals)
        .map(|(m, p)| MetricView {
            metric: m.name.clone(),
            proposal: p.as_ref().ok().cloned(),
            error: p.as_ref().err().cloned(),
        })
        .collect();
    let driving = o
        .raw
        .and_then(|raw| o.proposals.iter().flatten().find(|p| p.replicas == raw))
        .map(|p| p.metric.clone());
    ModelView {
        desired_replicas: o.desired_replicas,
        reason: o.reason.as_str().to_string(),
        current_replicas: obs.spec_replicas,
        raw_recommendation: o.raw,
        stabilized: o.stabilized,
        limited: o.limited,
        scaling_active: o.scaling_active,
        able_to_scale: o.able_to_scale_reason.to_string(),
        min_replicas: spec.min_replicas,
        max_replicas: spec.max_replicas,
        why: render::why(spec, config, obs, o),
        metrics,
        driving,
    }
}

/// The ScaledObject's triggers, with activity and health from its status.
pub fn triggers(so: &ScaledObject) -> Vec<TriggerView> {
    let status = so.status.clone().unwrap_or_default();
    let names = &status.external_metric_names;
    let mut external = names.iter();
    so.spec
        .triggers
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let resource = matches!(t.type_.as_str(), "cpu" | "memory");
            let metric = (!resource).then(|| external.next().cloned()).flatten();
            let active = metric
                .as_ref()
                .and_then(|m| status.triggers_activity.get(m))
                .map(|a| a.is_active);
            let health = metric.as_ref().and_then(|m| status.health.get(m)).map(|h| {
                format!(
                    "{} ({} failures)",
                    h.status.as_deref().unwrap_or("Unknown"),
                    h.number_of_failures.unwrap_or(0)
                )
            });
            TriggerView {
                index,
                name: t.name.clone().unwrap_or_default(),
                trigger_type: t.type_.clone(),
                metric,
                active,
                health,
                ..TriggerView::default()
            }
        })
        .collect()
}
