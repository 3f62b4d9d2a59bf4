//! The aggregation layer: an APIService sends every request under `/apis/{group}/{version}`
//! to a backend, as kube-aggregator proxies it to an extension API server (for Prescale, its
//! `external.metrics.k8s.io` server). Clients (the HPA controller, `kubectl get --raw`,
//! `prescale explain`) reach the backend through the API server, never directly.
//!
//! A backend is anything that answers an HTTP request; the operator tests give one that calls
//! the operator's real HTTPS metrics API with a front-proxy client certificate.

use bytes::Bytes;
use futures::future::BoxFuture;
use std::sync::Arc;

/// What an APIService points at.
pub trait Backend: Send + Sync {
    /// Answers one proxied request (path and query as the client sent them).
    fn call(&self, request: http::Request<Bytes>) -> BoxFuture<'static, http::Response<Bytes>>;
}

impl<F> Backend for F
where
    F: Fn(http::Request<Bytes>) -> BoxFuture<'static, http::Response<Bytes>> + Send + Sync,
{
    fn call(&self, request: http::Request<Bytes>) -> BoxFuture<'static, http::Response<Bytes>> {
        self(request)
    }
}

/// A registered APIService.
#[derive(Clone)]
pub struct ApiService {
    pub group: String,
    pub version: String,
    pub backend: Arc<dyn Backend>,
}

impl ApiService {
    /// Whether this APIService serves `path`.
    pub fn serves(&self, path: &str) -> bool {
        let prefix = format!("/apis/{}/{}", self.group, self.version);
        path == prefix || path.starts_with(&format!("{prefix}/"))
    }
}

/// The APIService serving `path`, if any.
pub fn find<'a>(services: &'a [ApiService], path: &str) -> Option<&'a ApiService> {
    services.iter().find(|s| s.serves(path))
}
