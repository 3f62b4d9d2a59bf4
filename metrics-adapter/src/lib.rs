//! The `external.metrics.k8s.io/v1beta1` API server Prescale registers with the aggregation
//! layer. It knows nothing about ScaledObjects: values come from a [`MetricProvider`].

pub mod auth;
pub mod authz;
pub mod delegation;
pub mod documents;
pub mod fuzzing;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod provider;
pub mod routes;
pub mod selector;
pub mod server;
pub mod tls;

pub use provider::{ExternalMetricValue, MetricProvider, ProviderError};
pub use selector::Selector;

use std::sync::Arc;

/// The full application with the default [`limits::Limits`].
pub fn app(
    provider: Arc<dyn MetricProvider>,
    auth: Arc<auth::Auth>,
    metrics: Option<metrics::AdapterMetrics>,
) -> axum::Router {
    app_with(provider, auth, metrics, &limits::Limits::default())
}

/// The full application: API routes behind authentication and authorization, behind the
/// request `limits`, measured by `metrics` when given (refusals included).
pub fn app_with(
    provider: Arc<dyn MetricProvider>,
    auth: Arc<auth::Auth>,
    metrics: Option<metrics::AdapterMetrics>,
    limits: &limits::Limits,
) -> axum::Router {
    let router = routes::api_router_with(provider, metrics.clone())
        .layer(axum::middleware::from_fn_with_state(auth, auth::middleware));
    let router = limits::apply(router, limits);
    match metrics {
        Some(m) => router.layer(axum::middleware::from_fn_with_state(m, measure)),
        None => router,
    }
}

async fn measure(
    axum::extract::State(m): axum::extract::State<metrics::AdapterMetrics>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    m.latency.observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&metrics::CodeLabels {
            code: res.status().as_u16(),
        })
        .inc();
    res
}
