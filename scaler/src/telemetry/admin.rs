//! The plain-HTTP admin server: `/livez` (the process answers), `/readyz` (caches synced, the
//! Kubernetes API reachable and not shutting down: this replica can answer the metrics API),
//! `/metrics` (Prometheus text format).

use crate::api_health::ApiHealth;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Readiness: set once every watch has synced, cleared first when shutdown starts; held false
/// while the Kubernetes API is unreachable (the metrics API cannot authorize callers then).
#[derive(Default, Clone)]
pub struct Readiness(Arc<Flags>);

#[derive(Default)]
struct Flags {
    synced: AtomicBool,
    /// The metrics API waits for its serving certificate from a Secret.
    cert_pending: AtomicBool,
    api: OnceLock<ApiHealth>,
}

impl Readiness {
    /// Caches synced and not shutting down.
    pub fn set(&self, ready: bool) {
        self.0.synced.store(ready, Ordering::SeqCst);
    }

    /// Holds readiness false while `health` says the Kubernetes API is unreachable.
    pub fn watch_api(&self, health: ApiHealth) {
        let _ = self.0.api.set(health);
    }

    /// Holds readiness false while the metrics API still serves its start-up certificate
    /// (the serving certificate Secret has not been loaded yet).
    pub fn set_cert_pending(&self, pending: bool) {
        self.0.cert_pending.store(pending, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.0.synced.load(Ordering::SeqCst)
            && !self.0.cert_pending.load(Ordering::SeqCst)
            && self.0.api.get().is_none_or(ApiHealth::is_reachable)
    }
}

#[derive(Clone)]
struct AdminState {
    registry: Arc<Registry>,
    ready: Readiness,
}

/// The admin routes.
pub fn router(registry: Arc<Registry>, ready: Readiness) -> Router {
    Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(AdminState { registry, ready })
}

async fn readyz(State(s): State<AdminState>) -> impl IntoResponse {
    if s.ready.is_ready() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn metrics(State(s): State<AdminState>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &s.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Binds the admin address; a failure names the address and the cause.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("admin server: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %bound, "admin server listening");
    Ok(listener)
}

/// Serves the admin routes on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Arc<Registry>,
    ready: Readiness,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(registry, ready))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn probes_follow_readiness_and_metrics_encode() {
        let (registry, m) = crate::telemetry::metrics::operator_registry();
        m.poll_lateness.observe(0.01);
        let ready = Readiness::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(Arc::new(registry), ready.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        assert!(get(addr, "/livez").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        ready.set(true);
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        let api = ApiHealth::new(crate::api_health::ApiMetrics::default());
        ready.watch_api(api.clone());
        api.failed("connect", "connection refused");
        assert!(
            get(addr, "/readyz").await.starts_with("HTTP/1.1 503"),
            "synced but the API unreachable is not ready"
        );
        api.answered();
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        let metrics = get(addr, "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(
            metrics.contains("prescale_poll_loop_lateness_seconds_count 1"),
            "{metrics}"
        );
        server.abort();
    }
}
