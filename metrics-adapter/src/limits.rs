//! Request limits: what one caller may cost the server before it is turned away.
//!
//! - Request heads (URL plus headers) are bounded by hyper itself, see [`MAX_HEADER_BYTES`] and
//!   [`MAX_HEADERS`] (applied in [`crate::server`]): a larger head is answered 431 by hyper (or
//!   the h2 stream is refused) before it reaches any handler, and is never buffered beyond the
//!   limit.
//! - URLs longer than [`Limits::max_url_bytes`] get 414, request bodies longer than
//!   [`Limits::max_body_bytes`] 413 (every route is a GET; a declared length over the limit is
//!   refused without reading it, an undeclared one is read up to the limit only).
//! - More than [`Limits::max_in_flight`] requests in flight get 429 with `Retry-After`; the
//!   probes are exempt, so a busy server is not restarted for being busy.
//!
//! Every refusal that reaches axum is a `metav1.Status`.

use crate::auth::ANONYMOUS_PATHS;
use crate::documents;
use crate::routes::error;
use axum::Json;
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusDetails;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The largest request head (request line plus headers) accepted, in bytes: hyper's HTTP/1.1
/// `max_header_size` (its read buffer is capped at twice this) and h2
/// `SETTINGS_MAX_HEADER_LIST_SIZE`.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The most header fields an HTTP/1.1 request may carry.
pub const MAX_HEADERS: usize = 100;

/// Per-request limits enforced in the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The longest request body accepted, in bytes (413 above).
    pub max_body_bytes: usize,
    /// The longest path plus query accepted, in bytes (414 above).
    pub max_url_bytes: usize,
    /// Requests served at once, probes not counted (429 above).
    pub max_in_flight: usize,
    /// The `Retry-After` sent with a 429, in seconds.
    pub retry_after_seconds: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_url_bytes: 8 * 1024,
            max_in_flight: 256,
            retry_after_seconds: 1,
        }
    }
}

/// Wraps `router` in the URL, body and concurrency limits (the size checks run first, so an
/// oversized request never takes an in-flight slot).
pub fn apply(router: axum::Router, limits: &Limits) -> axum::Router {
    let gate = Arc::new(Gate {
        permits: Arc::new(Semaphore::new(limits.max_in_flight)),
        retry_after_seconds: limits.retry_after_seconds,
    });
    router
        .layer(from_fn_with_state(gate, limit_in_flight))
        .layer(from_fn_with_state(Arc::new(limits.clone()), limit_size))
}

async fn limit_size(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    let url = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if url > limits.max_url_bytes {
        return error(
            StatusCode::URI_TOO_LONG,
            "RequestURITooLong",
            format!(
                "the request URL is {url} bytes; at most {} are accepted",
                limits.max_url_bytes
            ),
        );
    }
    let (parts, body) = req.into_parts();
    if body.size_hint().upper() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let max = limits.max_body_bytes;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("the request body is larger than {max} bytes"),
        )
    };
    if body.size_hint().lower() > max as u64 {
        return too_large();
    }
    match Limited::new(body, max).collect().await {
        Ok(read) => {
            let body = Body::from(read.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) if e.is::<LengthLimitError>() => too_large(),
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("reading the request body: {e}"),
        ),
    }
}

struct Gate {
    permits: Arc<Semaphore>,
    retry_after_seconds: u32,
}

async fn limit_in_flight(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    if ANONYMOUS_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match gate.permits.clone().try_acquire_owned() {
        Ok(_permit) => next.run(req).await,
        Err(_) => too_many_requests(gate.retry_after_seconds),
    }
}

/// 429 with `Retry-After` and the same delay in the `Status` details, as kube-apiserver's
/// max-in-flight filter answers.
fn too_many_requests(retry_after_seconds: u32) -> Response {
    let mut status = documents::status(
        StatusCode::TOO_MANY_REQUESTS.as_u16(),
        "TooManyRequests",
        "too many requests in flight, please try again later",
    );
    status.details = Some(StatusDetails {
        retry_after_seconds: Some(i32::try_from(retry_after_seconds).unwrap_or(i32::MAX)),
        ..StatusDetails::default()
    });
    let mut res = (StatusCode::TOO_MANY_REQUESTS, Json(status)).into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
    res
}
