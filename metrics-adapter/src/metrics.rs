//! The API server's own metrics: requests by status code, request latency, and the age of the
//! values it serves (how fresh the HPA's data is).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: u16,
}

#[derive(Clone)]
pub struct AdapterMetrics {
    pub requests: Family<CodeLabels, Counter>,
    pub latency: Histogram,
    pub value_age: Histogram,
}

impl AdapterMetrics {
    /// Registers under the given registry (callers pass a `metrics_api` sub-registry).
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self {
            requests: Family::default(),
            latency: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            value_age: Histogram::new(exponential_buckets(0.5, 2.0, 12)),
        };
        registry.register(
            "requests",
            "Requests to the external metrics API by HTTP status",
            m.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer one request",
            m.latency.clone(),
        );
        registry.register(
            "served_value_age_seconds",
            "Age of each value served to the HPA",
            m.value_age.clone(),
        );
        m
    }
}
