//! HPA metric specs, target quantities and metric names, with KEDA's rules (spec §3.3, §3.4).

use serde::Serialize;

/// `triggers[i].metricType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricType {
    AverageValue,
    Value,
    Utilization,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::AverageValue => "AverageValue",
            MetricType::Value => "Value",
            MetricType::Utilization => "Utilization",
        }
    }

    /// The metric type of an external (non cpu/memory) trigger: empty means `AverageValue`.
    pub fn for_external(raw: &str) -> Result<Self, String> {
        match raw {
            "" | "AverageValue" => Ok(MetricType::AverageValue),
            "Value" => Ok(MetricType::Value),
            "Utilization" => Err(
                "'Utilization' metric type is unsupported for external metrics, \
                 allowed values are 'Value' or 'AverageValue'"
                    .to_string(),
            ),
            other => Err(format!(
                "unknown metric type: {other}, allowed values are 'Value' or 'AverageValue'"
            )),
        }
    }
}

/// What the HPA aims for: exactly one of the three fields is set, according to `metric_type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTarget {
    #[serde(rename = "type")]
    pub metric_type: MetricType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<i32>,
    /// The target as a number (for fallback arithmetic); not part of the HPA object.
    #[serde(skip)]
    pub number: f64,
}

impl MetricTarget {
    /// A `Value`/`AverageValue` target given as a float, rendered with milli precision.
    pub fn from_float(metric_type: MetricType, target: f64) -> Self {
        Self::from_quantity(metric_type, milli_quantity(target), target)
    }

    /// A `Value`/`AverageValue` target given as an integer.
    pub fn from_int(metric_type: MetricType, target: i64) -> Self {
        Self::from_quantity(metric_type, int_quantity(target), target as f64)
    }

    fn from_quantity(metric_type: MetricType, q: String, number: f64) -> Self {
        let (value, average_value) = match metric_type {
            MetricType::Value => (Some(q), None),
            _ => (None, Some(q)),
        };
        Self {
            metric_type,
            value,
            average_value,
            average_utilization: None,
            number,
        }
    }
}

/// One metric of the HPA that a trigger asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum MetricSpec {
    /// Served by Prescale through `external.metrics.k8s.io`.
    External { name: String, target: MetricTarget },
    /// `cpu`/`memory`, served by metrics-server (`Resource`, or `ContainerResource` when a
    /// container is named).
    Resource {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        container: Option<String>,
        target: MetricTarget,
    },
}

impl MetricSpec {
    /// The external metric name, if this is an external metric.
    pub fn external_name(&self) -> Option<&str> {
        match self {
            MetricSpec::External { name, .. } => Some(name),
            MetricSpec::Resource { .. } => None,
        }
    }

    pub fn target(&self) -> &MetricTarget {
        match self {
            MetricSpec::External { target, .. } | MetricSpec::Resource { target, .. } => target,
        }
    }

    /// The HPA metric `type` string KEDA sorts by.
    pub fn hpa_type(&self) -> &'static str {
        match self {
            MetricSpec::External { .. } => "External",
            MetricSpec::Resource {
                container: Some(_), ..
            } => "ContainerResource",
            MetricSpec::Resource { .. } => "Resource",
        }
    }
}

/// One reading of a scaler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The raw value, before clamping (activity is decided on it).
    pub value: f64,
    /// `value > activation threshold`.
    pub active: bool,
}

impl Sample {
    /// The value as served to the HPA: milli precision, NaN/±Inf/negative → `0`.
    pub fn quantity(&self) -> String {
        milli_quantity(self.value)
    }
}

/// `s<index>-<part>` with KEDA's normalisation of the part (`/ . : % ( )` → `-`).
pub fn external_metric_name(trigger_index: usize, part: &str) -> String {
    format!("s{trigger_index}-{}", normalize_metric_part(part))
}

/// KEDA's metric-name normalisation: nothing but these six characters is changed.
pub fn normalize_metric_part(part: &str) -> String {
    part.chars()
        .map(|c| match c {
            '/' | '.' | ':' | '%' | '(' | ')' => '-',
            c => c,
        })
        .collect()
}

/// Case-insensitive metric-name match (the HPA lower-cases the name in its request path).
pub fn metric_name_matches(stored: &str, requested: &str) -> bool {
    stored.eq_ignore_ascii_case(requested)
}

pub use prescale_quantity::{int_quantity, milli_quantity};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_keda() {
        assert_eq!(
            external_metric_name(0, "redis-jobs:high"),
            "s0-redis-jobs-high"
        );
        assert_eq!(
            external_metric_name(3, "mysql-shop?tls=true"),
            "s3-mysql-shop?tls=true"
        );
        assert_eq!(external_metric_name(1, "a/b.c:d%e(f)g"), "s1-a-b-c-d-e-f-g");
        assert!(metric_name_matches("s0-redis-Jobs", "s0-redis-jobs"));
        assert!(!metric_name_matches("s0-redis-jobs", "s1-redis-jobs"));
    }

    #[test]
    fn external_metric_types() {
        assert_eq!(MetricType::for_external(""), Ok(MetricType::AverageValue));
        assert_eq!(MetricType::for_external("Value"), Ok(MetricType::Value));
        assert!(
            MetricType::for_external("Utilization")
                .unwrap_err()
                .contains("unsupported for external metrics")
        );
        let t = MetricTarget::from_float(MetricType::Value, 2.5);
        assert_eq!(t.value.as_deref(), Some("2500m"));
        assert_eq!(t.average_value, None);
    }
}
