//! The `external.metrics.k8s.io/v1beta1` API server Prescale registers with the aggregation
//! layer. It knows nothing about ScaledObjects: values come from a [`MetricProvider`].

pub mod auth;
pub mod authz;
pub mod delegation;
pub mod documents;
pub mod openapi;
pub mod provider;
pub mod routes;
pub mod selector;
pub mod server;
pub mod tls;

pub use provider::{ExternalMetricValue, MetricProvider, ProviderError};
pub use selector::Selector;

use std::sync::Arc;

/// The full application: API routes behind authentication and authorization.
pub fn app(provider: Arc<dyn MetricProvider>, auth: Arc<auth::Auth>) -> axum::Router {
    routes::api_router(provider).layer(axum::middleware::from_fn_with_state(auth, auth::middleware))
}
