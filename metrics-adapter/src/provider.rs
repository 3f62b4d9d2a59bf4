//! What the API server asks of whoever owns the metrics: `(namespace, metric name, label
//! selector) → values`. The operator implements this over its MetricStore.

use crate::selector::Selector;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One value of an external metric.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalMetricValue {
    /// The metric's name with its original case.
    pub metric_name: String,
    pub labels: BTreeMap<String, String>,
    /// When the value was computed.
    pub timestamp: DateTime<Utc>,
    /// The raw value; the server renders it as a Quantity (NaN, ±Inf and negatives → 0).
    pub value: f64,
}

/// Why there is no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// No such metric for this namespace/selector → 404 NotFound.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be answered as asked (e.g. the selector names no ScaledObject)
    /// → 400 BadRequest.
    #[error("{0}")]
    BadRequest(String),
    /// The source failed → 500 InternalError; the message names the trigger, never a
    /// credential.
    #[error("{0}")]
    Internal(String),
    /// This replica may not answer (not the leader) → 503 ServiceUnavailable.
    #[error("{0}")]
    Unavailable(String),
}

/// The source of external metric values.
#[async_trait]
pub trait MetricProvider: Send + Sync + 'static {
    /// Values of `metric_name` (matched case-insensitively) in `namespace` for the objects the
    /// selector matches. Never returns values of another namespace.
    async fn get_external_metric(
        &self,
        namespace: &str,
        metric_name: &str,
        selector: &Selector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError>;

    /// Every metric name currently served (for discovery); must not fail.
    async fn list_external_metrics(&self) -> Vec<String>;

    /// Whether this replica can answer now (readiness).
    fn ready(&self) -> bool {
        true
    }
}
