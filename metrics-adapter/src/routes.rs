//! The HTTP routes: discovery, the external-metric read path, OpenAPI, probes.
//! Authentication and authorization run before these (see `auth`).

use crate::documents::{self, ExternalMetricValueList};
use crate::openapi;
use crate::provider::{MetricProvider, ProviderError};
use crate::selector::Selector;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;

/// Shared state of the routes.
pub struct AppState {
    pub provider: Arc<dyn MetricProvider>,
    pub metrics: Option<crate::metrics::AdapterMetrics>,
}

/// The API routes (no authentication here).
pub fn api_router(provider: Arc<dyn MetricProvider>) -> Router {
    api_router_with(provider, None)
}

/// The API routes, recording the age of served values in `metrics`.
pub fn api_router_with(
    provider: Arc<dyn MetricProvider>,
    metrics: Option<crate::metrics::AdapterMetrics>,
) -> Router {
    Router::new()
        .route("/apis", get(|| async { Json(documents::api_group_list()) }))
        .route(
            "/apis/external.metrics.k8s.io",
            get(|| async { Json(documents::api_group()) }),
        )
        .route("/apis/external.metrics.k8s.io/v1beta1", get(resource_list))
        .route(
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}",
            get(read_metric),
        )
        .route("/openapi/v2", get(|| async { Json(openapi::v2()) }))
        .route("/openapi/v3", get(|| async { Json(openapi::v3_index()) }))
        .route(
            "/openapi/v3/apis/external.metrics.k8s.io/v1beta1",
            get(|| async { Json(openapi::v3_group_version()) }),
        )
        .route("/livez", get(|| async { "ok" }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource",
            )
        })
        .with_state(Arc::new(AppState { provider, metrics }))
}

/// A `metav1.Status` error response.
pub fn error(code: StatusCode, reason: &str, message: impl Into<String>) -> Response {
    (
        code,
        Json(documents::status(code.as_u16(), reason, message)),
    )
        .into_response()
}

async fn resource_list(
    State(s): State<Arc<AppState>>,
) -> Json<k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList> {
    Json(documents::api_resource_list(
        s.provider.list_external_metrics().await,
    ))
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if s.provider.ready() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

#[derive(Debug, Deserialize)]
struct ReadQuery {
    #[serde(rename = "labelSelector")]
    label_selector: Option<String>,
}

async fn read_metric(
    State(s): State<Arc<AppState>>,
    Path((namespace, metric)): Path<(String, String)>,
    Query(q): Query<ReadQuery>,
) -> Response {
    let selector = match Selector::parse(q.label_selector.as_deref().unwrap_or("")) {
        Ok(sel) => sel,
        Err(why) => return error(StatusCode::BAD_REQUEST, "BadRequest", why),
    };
    match s
        .provider
        .get_external_metric(&namespace, &metric, &selector)
        .await
    {
        Ok(values) if values.is_empty() => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("the server could not find the metric {metric} in namespace {namespace}"),
        ),
        Ok(values) => {
            if let Some(m) = &s.metrics {
                let now = chrono::Utc::now();
                for v in &values {
                    m.value_age
                        .observe((now - v.timestamp).num_milliseconds().max(0) as f64 / 1000.0);
                }
            }
            Json(ExternalMetricValueList::new(values)).into_response()
        }
        Err(ProviderError::NotFound(m)) => error(StatusCode::NOT_FOUND, "NotFound", m),
        Err(ProviderError::BadRequest(m)) => error(StatusCode::BAD_REQUEST, "BadRequest", m),
        Err(ProviderError::Unavailable(m)) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", m)
        }
        Err(ProviderError::Internal(m)) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", m)
        }
    }
}
