//! The webhook's HTTPS edge: one POST route per kind ([`super::KINDS`]' KEDA paths) taking an
//! `admission.k8s.io/v1` AdmissionReview, served with the metrics API's TLS machinery
//! (`prescale_metrics_adapter::tls`: the same certificate files, reloaded when they change).

use super::KINDS;
use super::review::Reviewer;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kube::api::DynamicObject;
use kube::core::admission::AdmissionReview;
use prescale_metrics_adapter::tls::{CertSource, TlsState};
use std::sync::Arc;
use std::time::Duration;

/// The largest AdmissionReview read (the apiserver's own request limit is 3 MiB).
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// The routes.
pub fn router(reviewer: Reviewer) -> Router {
    let mut app = Router::new();
    for kind in KINDS {
        app = app.route(&kind.path(), axum::routing::post(handle));
    }
    app.route("/healthz", axum::routing::get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(reviewer))
}

async fn handle(State(reviewer): State<Arc<Reviewer>>, body: axum::body::Bytes) -> Response {
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("the body is not an admission.k8s.io/v1 AdmissionReview: {e}"),
            )
                .into_response();
        }
    };
    let answer = reviewer.review(review).await;
    match &answer.response {
        Some(r) if !r.allowed => {
            tracing::info!(uid = %r.uid, reason = %r.result.message, "admission denied")
        }
        Some(r) => tracing::debug!(uid = %r.uid, "admission allowed"),
        None => {}
    }
    axum::Json(answer).into_response()
}

/// Serves the webhook on `listener` until `shutdown` resolves, with the certificate of
/// `cert` (files are re-read every 30 s when they change), or, given `secret` (namespace,
/// name), the operator's serving certificate Secret, followed as the metrics API follows it.
pub async fn serve(
    listener: tokio::net::TcpListener,
    cert: CertSource,
    reviewer: Reviewer,
    secret: Option<(String, String)>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tls = TlsState::new(cert, None)?;
    let watcher = match secret {
        Some((namespace, name)) => tokio::spawn(crate::serving_cert::reload::follow(
            reviewer.client.clone(),
            namespace,
            name,
            Arc::clone(&tls),
            || tracing::info!("admission webhook serves the serving certificate Secret"),
        )),
        None => tokio::spawn(Arc::clone(&tls).watch_files(Duration::from_secs(30))),
    };
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "admission webhook listening");
    }
    let res =
        prescale_metrics_adapter::server::serve(listener, tls, router(reviewer), shutdown).await;
    watcher.abort();
    Ok(res?)
}
