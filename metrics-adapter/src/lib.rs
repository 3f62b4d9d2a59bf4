//! The `external.metrics.k8s.io/v1beta1` API server Prescale registers with the aggregation
//! layer. It knows nothing about ScaledObjects: values come from a [`MetricProvider`].

pub mod documents;
pub mod openapi;
pub mod provider;
pub mod routes;
pub mod selector;

pub use provider::{ExternalMetricValue, MetricProvider, ProviderError};
pub use selector::Selector;
