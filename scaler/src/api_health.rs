//! Whether the Kubernetes API answers. Every API call goes through [`ApiHealthLayer`], which
//! bounds the wait for a response (the request timeout), counts failures by kind and moves
//! [`ApiHealth`] between reachable and unreachable. A change is logged once (WARN with the
//! cause, INFO on recovery), exported as `prescale_api_reachable` and
//! `prescale_api_errors_total{kind}`, and read by readiness: a replica that cannot reach the API
//! cannot authorize metrics API callers.

use futures::future::BoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{BoxError, Layer, Service};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiErrorLabels {
    /// `connect`, `timeout`, `unavailable` (HTTP 502/503/504) or `transport`.
    pub kind: &'static str,
}

/// The API health metrics, registered under the operator's prefix.
#[derive(Clone, Default)]
pub struct ApiMetrics {
    pub errors: Family<ApiErrorLabels, Counter>,
    pub reachable: Gauge,
}

impl ApiMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "api_errors",
            "Kubernetes API calls that got no usable answer, by kind",
            m.errors.clone(),
        );
        registry.register(
            "api_reachable",
            "1 when the last Kubernetes API call got an answer, 0 when it did not",
            m.reachable.clone(),
        );
        m
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Unknown,
    Reachable,
    Unreachable,
}

/// The shared reachability state; clones share it.
#[derive(Clone)]
pub struct ApiHealth(Arc<Inner>);

struct Inner {
    status: Mutex<Status>,
    metrics: ApiMetrics,
}

impl ApiHealth {
    pub fn new(metrics: ApiMetrics) -> Self {
        Self(Arc::new(Inner {
            status: Mutex::new(Status::Unknown),
            metrics,
        }))
    }

    /// False once a call failed, until one succeeds again.
    pub fn is_reachable(&self) -> bool {
        *self.lock() != Status::Unreachable
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        self.0.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A call got an HTTP answer.
    pub fn answered(&self) {
        let mut status = self.lock();
        if *status == Status::Reachable {
            return;
        }
        if *status == Status::Unreachable {
            tracing::info!("Kubernetes API reachable again");
        }
        *status = Status::Reachable;
        self.0.metrics.reachable.set(1);
    }

    /// A call got no usable answer; logs only when this changes the state.
    pub fn failed(&self, kind: &'static str, cause: &str) {
        self.0
            .metrics
            .errors
            .get_or_create(&ApiErrorLabels { kind })
            .inc();
        let mut status = self.lock();
        if *status == Status::Unreachable {
            tracing::debug!(kind, error = cause, "Kubernetes API call failed");
            return;
        }
        tracing::warn!(
            kind,
            "Kubernetes API unreachable: {cause}; retrying with backoff"
        );
        *status = Status::Unreachable;
        self.0.metrics.reachable.set(0);
    }
}

/// The request timeout expired before the API server answered.
#[derive(Debug, thiserror::Error)]
#[error("no answer from the Kubernetes API within the request timeout of {0:?}")]
pub struct RequestTimeout(pub Duration);

/// An error and its sources as one line, each cause once.
pub fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// A static kind for a failed call, from the error's chain.
pub fn classify(e: &(dyn StdError + 'static)) -> &'static str {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<RequestTimeout>() {
            return "timeout";
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return "timeout";
        }
        if let Some(h) = err.downcast_ref::<hyper_util::client::legacy::Error>()
            && h.is_connect()
        {
            // a connect timeout is reported inside a connect error
            return if classify_io_timeout(err) {
                "timeout"
            } else {
                "connect"
            };
        }
        cur = err.source();
    }
    "transport"
}

fn classify_io_timeout(e: &(dyn StdError + 'static)) -> bool {
    let mut cur = e.source();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Bounds every call by `timeout` and reports its outcome to `health`.
#[derive(Clone)]
pub struct ApiHealthLayer {
    pub health: ApiHealth,
    pub timeout: Duration,
}

impl<S> Layer<S> for ApiHealthLayer {
    type Service = ApiHealthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiHealthService {
            inner,
            health: self.health.clone(),
            timeout: self.timeout,
        }
    }
}

/// The service made by [`ApiHealthLayer`].
pub struct ApiHealthService<S> {
    inner: S,
    health: ApiHealth,
    timeout: Duration,
}

impl<S, B, RB> Service<http::Request<B>> for ApiHealthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    RB: Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<http::Response<RB>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let call = self.inner.call(req);
        let (health, limit) = (self.health.clone(), self.timeout);
        Box::pin(async move {
            let res = match tokio::time::timeout(limit, call).await {
                Ok(res) => res.map_err(Into::into),
                Err(_) => Err(BoxError::from(RequestTimeout(limit))),
            };
            match res {
                Ok(resp) if matches!(resp.status().as_u16(), 502..=504) => {
                    health.failed("unavailable", &format!("HTTP {}", resp.status()));
                    Ok(resp)
                }
                Ok(resp) => {
                    health.answered();
                    Ok(resp)
                }
                Err(e) => {
                    health.failed(classify(&*e), &error_chain(&*e));
                    Err(e)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::admin::Readiness;

    fn health() -> (ApiHealth, ApiMetrics, Readiness) {
        let metrics = ApiMetrics::default();
        let readiness = Readiness::default();
        readiness.set(true);
        let h = ApiHealth::new(metrics.clone());
        readiness.watch_api(h.clone());
        (h, metrics, readiness)
    }

    #[test]
    fn state_changes_drive_readiness_and_metrics() {
        let (h, m, ready) = health();
        h.answered();
        assert!(ready.is_ready() && h.is_reachable());
        assert_eq!(m.reachable.get(), 1);
        for _ in 0..3 {
            h.failed("connect", "refused");
        }
        assert!(!ready.is_ready() && !h.is_reachable());
        assert_eq!(m.reachable.get(), 0);
        let connect = ApiErrorLabels { kind: "connect" };
        assert_eq!(m.errors.get_or_create(&connect).get(), 3);
        h.answered();
        assert!(ready.is_ready());
    }

    #[tokio::test]
    async fn a_connection_that_never_answers_times_out() {
        // a real listener that accepts and never answers, and kube's own HTTP client stack
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _held = tokio::spawn(async move {
            let mut conns = Vec::new();
            while let Ok((c, _)) = listener.accept().await {
                conns.push(c);
            }
        });
        let (h, m, ready) = health();
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let client = kube::client::ClientBuilder::try_from(config)
            .unwrap()
            .with_layer(&ApiHealthLayer {
                health: h.clone(),
                timeout: Duration::from_millis(300),
            })
            .build();
        let started = std::time::Instant::now();
        let err = client.apiserver_version().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{err}");
        assert!(error_chain(&err).contains("request timeout"), "{err}");
        assert!(!ready.is_ready());
        let timeout = ApiErrorLabels { kind: "timeout" };
        assert_eq!(m.errors.get_or_create(&timeout).get(), 1);
    }
}
