//! The state document of `prescale explain --state FILE`: one HPA's situation written down
//! (its bounds and behavior, the replicas, each metric's target and current value, and the
//! controller's remembered recommendations and scale events), so a captured situation can be
//! replayed and shared without a cluster.
//!
//! ```json
//! {"minReplicas": 1, "maxReplicas": 10, "behavior": {...}, "currentReplicas": 5,
//!  "readyReplicas": 5, "tolerance": 0.1,
//!  "metrics": [{"target": {"type": "AverageValue", "value": "8.6"}, "current": "4.4"}],
//!  "recommendations": [{"ageSeconds": 30, "replicas": 4}],
//!  "scaleEvents": {"up": [{"ageSeconds": 20, "change": 2}], "down": []}}
//! ```
//! Quantities are Kubernetes quantities (`"500m"`, `"8.6"`) or plain numbers. A metric's
//! `current` may also be a list (the items the metrics API returned, summed as the HPA does),
//! or absent with an `error` (the fetch failed). `behavior` uses autoscaling/v2 field names.
//! Ages are seconds before "now", the instant the sync is computed for.

use prescale_hpa_model::{
    Behavior, ControllerConfig, History, HpaSpec, Metric, Milli, Observation, Recommendation,
    ScaleEvent, Target,
};
use serde::Deserialize;
use serde_json::Value;

/// The document as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateDoc {
    #[serde(default)]
    pub min_replicas: Option<i32>,
    pub max_replicas: i32,
    #[serde(default)]
    pub behavior: Option<Behavior>,
    pub current_replicas: i32,
    #[serde(default)]
    pub ready_replicas: Option<i32>,
    #[serde(default)]
    pub tolerance: Option<Value>,
    pub metrics: Vec<MetricDoc>,
    #[serde(default)]
    pub recommendations: Vec<Aged>,
    #[serde(default)]
    pub scale_events: ScaleEventsDoc,
}

/// One metric of the document.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricDoc {
    #[serde(default)]
    pub name: Option<String>,
    pub target: TargetDoc,
    #[serde(default)]
    pub current: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A metric target: `type` and its value (`value`, or `averageValue` for AverageValue, or
/// `averageUtilization` for a resource Utilization target).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetDoc {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub average_value: Option<Value>,
    #[serde(default)]
    pub average_utilization: Option<i32>,
}

/// A recommendation remembered `ageSeconds` ago.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Aged {
    pub age_seconds: f64,
    #[serde(default)]
    pub replicas: Option<i32>,
    #[serde(default)]
    pub change: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleEventsDoc {
    #[serde(default)]
    pub up: Vec<Aged>,
    #[serde(default)]
    pub down: Vec<Aged>,
}

/// The model's inputs from a document, for a sync at instant 0.
pub struct Inputs {
    pub spec: HpaSpec,
    pub config: ControllerConfig,
    pub history: History,
    pub observation: Observation,
}

/// A quantity given as a string or a number, in milli-units.
pub fn milli(v: &Value, what: &str) -> Result<Milli, String> {
    match v {
        Value::Number(n) => {
            let text = n.to_string();
            prescale_quantity::parse_quantity(&text)
                .map(|q| q.milli)
                .map_err(|e| format!("{what}: {e}"))
        }
        Value::String(s) => prescale_quantity::parse_quantity(s.trim())
            .map(|q| q.milli)
            .map_err(|e| format!("{what}: {e}")),
        other => Err(format!(
            "{what}: {other} is neither a quantity nor a number"
        )),
    }
}

fn ms_ago(age_seconds: f64, what: &str) -> Result<i64, String> {
    if !age_seconds.is_finite() || age_seconds < 0.0 {
        return Err(format!("{what}: ageSeconds must be a number ≥ 0"));
    }
    Ok(-(age_seconds * 1000.0).round() as i64)
}

fn target(t: &TargetDoc, what: &str) -> Result<Target, String> {
    let value = || {
        t.value
            .as_ref()
            .or(t.average_value.as_ref())
            .ok_or_else(|| format!("{what}: target.value is missing"))
    };
    Ok(match t.kind.as_str() {
        "Value" => Target::Value(milli(value()?, &format!("{what}.target.value"))?),
        "AverageValue" => Target::AverageValue(milli(value()?, &format!("{what}.target.value"))?),
        "Utilization" => Target::Utilization(
            t.average_utilization
                .ok_or_else(|| format!("{what}: a Utilization target needs averageUtilization"))?,
        ),
        other => {
            return Err(format!(
                "{what}: target.type {other:?} must be Value, AverageValue or Utilization"
            ));
        }
    })
}

/// What the metrics API returned for a metric: its items, or the error.
fn current(m: &MetricDoc, what: &str) -> Result<Result<Vec<Milli>, String>, String> {
    match (&m.current, &m.error) {
        (Some(_), Some(_)) => Err(format!("{what}: give either current or error, not both")),
        (None, Some(e)) => Ok(Err(e.clone())),
        (None, None) => Err(format!("{what}: current (or error) is missing")),
        (Some(Value::Array(items)), None) => items
            .iter()
            .enumerate()
            .map(|(i, v)| milli(v, &format!("{what}.current[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Ok),
        (Some(v), None) => Ok(Ok(vec![milli(v, &format!("{what}.current"))?])),
    }
}

impl StateDoc {
    /// Parses a document, naming the field that is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("the state document is not valid: {e}"))
    }

    /// The model's inputs; every bad value is an error naming its field.
    pub fn inputs(&self) -> Result<Inputs, String> {
        if self.max_replicas < 1 {
            return Err("maxReplicas must be at least 1".into());
        }
        let mut metrics = Vec::new();
        let mut observed = Vec::new();
        for (i, m) in self.metrics.iter().enumerate() {
            let what = format!("metrics[{i}]");
            metrics.push(Metric {
                name: m.name.clone().unwrap_or_else(|| format!("metric-{i}")),
                target: target(&m.target, &what)?,
            });
            observed.push(current(m, &what)?);
        }
        let mut config = ControllerConfig::default();
        if let Some(t) = &self.tolerance {
            config.tolerance = milli(t, "tolerance")? as f64 / 1000.0;
        }
        let mut history = History::default();
        for (i, r) in self.recommendations.iter().enumerate() {
            let what = format!("recommendations[{i}]");
            history.recommendations.push(Recommendation {
                at_ms: ms_ago(r.age_seconds, &what)?,
                replicas: r
                    .replicas
                    .ok_or_else(|| format!("{what}: replicas is missing"))?,
            });
        }
        for (dir, list, out) in [
            ("up", &self.scale_events.up, &mut history.scale_up_events),
            (
                "down",
                &self.scale_events.down,
                &mut history.scale_down_events,
            ),
        ] {
            for (i, e) in list.iter().enumerate() {
                let what = format!("scaleEvents.{dir}[{i}]");
                out.push(ScaleEvent {
                    at_ms: ms_ago(e.age_seconds, &what)?,
                    change: e
                        .change
                        .ok_or_else(|| format!("{what}: change is missing"))?,
                });
            }
        }
        Ok(Inputs {
            spec: HpaSpec {
                min_replicas: self.min_replicas.unwrap_or(1),
                max_replicas: self.max_replicas,
                metrics,
                behavior: self.behavior.clone(),
            },
            config,
            history,
            observation: Observation {
                spec_replicas: self.current_replicas,
                status_replicas: self.current_replicas,
                ready_pods: Some(self.ready_replicas.unwrap_or(self.current_replicas)),
                metrics: observed,
            },
        })
    }
}
