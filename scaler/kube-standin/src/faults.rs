//! Faults a real API server shows, injected by tests: write errors with the answer the
//! apiserver gives (429 TooManyRequests with `Retry-After` from priority-and-fairness, 409
//! Conflict, 5xx), watches ended under their clients (an apiserver restart or a watch
//! timeout; with [`crate::ApiServer::compact`] the resume gets 410 Gone), and a client of one
//! replica that can be cut off (a killed or partitioned process sends nothing more).

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// The seconds a 429 asks the client to wait (`Retry-After`, `details.retryAfterSeconds`).
pub const RETRY_AFTER_S: u32 = 1;

/// The answer to a write failed on purpose with `code`, as the apiserver words it.
pub fn write_failure(code: u16) -> Response<Body> {
    let (reason, message) = match code {
        429 => (
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        ),
        409 => (
            "Conflict",
            "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
        ),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        _ => (
            "InternalError",
            "an error on the server (\"injected failure\") has prevented the request from succeeding",
        ),
    };
    let mut status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    if code == 429 {
        status["details"] = json!({"retryAfterSeconds": RETRY_AFTER_S});
    }
    let body = Full::new(Bytes::from(status.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut res = Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json");
    if code == 429 {
        res = res.header("retry-after", RETRY_AFTER_S.to_string());
    }
    res.body(body).unwrap_or_default()
}

/// What a [`ReplicaClient`] lets through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cut {
    /// Everything.
    #[default]
    None,
    /// Nothing: the process is gone (requests fail as a refused connection does).
    All,
    /// Everything but requests to this plural (e.g. `leases`: the replica cannot renew).
    Plural(String),
}

/// One replica's view of the API: its own write count, and a switch that cuts it off.
#[derive(Clone, Default)]
pub struct Replica {
    cut: Arc<Mutex<Cut>>,
    writes: Arc<AtomicU64>,
    /// The path of every write counted in `writes`, in order.
    written: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    pub fn cut(&self, cut: Cut) {
        *self.cut.lock().unwrap_or_else(|e| e.into_inner()) = cut;
    }

    /// Writes (POST, PUT, PATCH, DELETE) that reached the server, leases excluded.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// The paths of the writes counted by [`Replica::writes`], in order.
    pub fn written(&self) -> Vec<String> {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn blocks(&self, path: &str) -> bool {
        match &*self.cut.lock().unwrap_or_else(|e| e.into_inner()) {
            Cut::None => false,
            Cut::All => true,
            Cut::Plural(p) => path.split('/').any(|s| s == p),
        }
    }
}

/// The stand-in's service behind a [`Replica`] switch.
#[derive(Clone)]
pub struct ReplicaService {
    pub inner: crate::http_api::Service,
    pub replica: Replica,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<Request<kube::client::Body>> for ReplicaService {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<kube::client::Body>) -> Self::Future {
        let path = req.uri().path().to_string();
        if self.replica.blocks(&path) {
            let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "cut off");
            return Box::pin(async move { Err(Box::new(refused) as BoxError) });
        }
        let write = req.method() != http::Method::GET && !path.contains("/leases");
        let counter = self.replica.writes.clone();
        let written = self.replica.written.clone();
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let res = tower::Service::call(&mut inner, req).await;
            if write {
                counter.fetch_add(1, Ordering::SeqCst);
                written.lock().unwrap_or_else(|e| e.into_inner()).push(path);
            }
            res.map_err(|never| match never {})
        })
    }
}
