//! `cpu` and `memory`: triggers that only shape the HPA (spec §5.5).
//!
//! They become `Resource` metrics (or `ContainerResource` with `containerName`) that the HPA
//! reads from metrics-server; Prescale never samples them.
//!
//! | parameter | source | |
//! |---|---|---|
//! | `value` | metadata | required: integer percent for `Utilization`, a quantity for `AverageValue` |
//! | `containerName` | metadata | optional: switches to `ContainerResource` |
//! | `type` | metadata | deprecated: its presence is an error |
//! | trigger `metricType` | trigger | required: `Utilization` or `AverageValue` |
//!
//! Error order follows KEDA: field errors (the deprecated `type`, a missing `value`) are
//! reported alone; only a clean read goes on to the metric type and the value's form.

pub use prescale_quantity as quantity;

use crate::error::{Error, Result};
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, MetricType, Sample};
use crate::params::{META, Need, Params};
use crate::{Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use std::sync::Arc;

/// Which resource a trigger scales on; its name is the trigger type and the HPA resource name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }
}

/// Registry entry for `cpu`.
pub fn parse_cpu(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(parse_definition(Resource::Cpu, input)?))
}

/// Registry entry for `memory`.
pub fn parse_memory(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(parse_definition(Resource::Memory, input)?))
}

/// A validated `cpu`/`memory` trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDefinition {
    pub resource: Resource,
    spec: MetricSpec,
}

/// Parses a `cpu`/`memory` trigger into its HPA metric.
pub fn parse_definition(resource: Resource, input: &TriggerInput) -> Result<ResourceDefinition> {
    let scaler = resource.as_str();
    let fail = |message: String| Error::Parse { scaler, message };
    let mut p = Params::new(input);
    if p.lookup(&["type"], META).is_some() {
        p.error(format!(
            "scaler {scaler} info: The 'type' setting is DEPRECATED and is removed in v2.18 - \
             Use 'metricType' instead."
        ));
    }
    let value = p.string(&["value"], META, Need::Required);
    let container = p.get::<String>(&["containerName"], META, Need::Optional);
    p.finish(scaler)?;

    let target = match input.metric_type.as_str() {
        "Utilization" => {
            let percent = parse_int32(&value).map_err(fail)?;
            MetricTarget {
                metric_type: MetricType::Utilization,
                value: None,
                average_value: None,
                average_utilization: Some(percent),
                number: percent as f64,
            }
        }
        "AverageValue" => {
            // The canonical form is what the API server stores, so a rebuilt HPA compares equal.
            let q = prescale_quantity::parse_quantity(&value).map_err(fail)?;
            MetricTarget {
                metric_type: MetricType::AverageValue,
                value: None,
                average_value: Some(q.canonical),
                average_utilization: None,
                number: q.value,
            }
        }
        other => {
            return Err(fail(format!(
                "unknown metric type: {other}, allowed values are 'Utilization' or 'AverageValue'"
            )));
        }
    };
    Ok(ResourceDefinition {
        resource,
        spec: MetricSpec::Resource {
            name: scaler.to_string(),
            container,
            target,
        },
    })
}

/// Go's `strconv.ParseInt(value, 10, 32)`: optional sign, decimal digits only (`50.5` fails),
/// leading zeros allowed, int32 range.
fn parse_int32(raw: &str) -> std::result::Result<i32, String> {
    let digits = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseInt: parsing {raw:?}: invalid syntax"));
    }
    raw.parse::<i32>()
        .map_err(|_| format!("strconv.ParseInt: parsing {raw:?}: value out of range"))
}

#[async_trait]
impl TriggerDefinition for ResourceDefinition {
    fn trigger_type(&self) -> &str {
        self.resource.as_str()
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    async fn connect(&self, _ctx: &Context) -> Result<Arc<dyn Scaler>> {
        Ok(Arc::new(ResourceScaler {
            spec: self.spec.clone(),
        }))
    }

    /// cpu/memory have no activation of their own: the HPA owns them, always active (KEDA).
    fn is_active(&self, _value: f64) -> bool {
        true
    }
}

/// The live form of a `cpu`/`memory` trigger.
pub struct ResourceScaler {
    spec: MetricSpec,
}

#[async_trait]
impl Scaler for ResourceScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.spec
    }

    /// Always active with value 0, as KEDA answers: the HPA reads cpu/memory from
    /// `metrics.k8s.io`, never from here. "Active" keeps a ScaledObject whose only triggers are
    /// cpu/memory from idling (the webhook forbids `minReplicaCount: 0` for those anyway).
    async fn sample(&self) -> Result<Sample> {
        Ok(Sample {
            value: 0.0,
            active: true,
        })
    }
}

#[cfg(test)]
mod tests;
