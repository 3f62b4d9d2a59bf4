//! Request limits: oversized URLs, bodies and heads over real HTTPS (hyper's own limits
//! included), a body of unknown length, and the in-flight limit with its 429.

mod support;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use futures::FutureExt;
use prescale_metrics_adapter::auth::{Auth, RequestHeaderConfig};
use prescale_metrics_adapter::authz::AllowAll;
use prescale_metrics_adapter::limits::Limits;
use prescale_metrics_adapter::server::PeerIdentity;
use prescale_metrics_adapter::{
    ExternalMetricValue, MetricProvider, ProviderError, Selector, app_with,
};
use std::sync::Arc;
use support::{HPA_USER, PATH, ca, client, client_cert, start};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Sends a GET with an extra header and an optional body; `None` when the server closed the
/// connection instead of answering.
async fn send(
    c: &reqwest::Client,
    url: &str,
    extra: &[(String, String)],
    body: Option<Vec<u8>>,
) -> Option<(u16, serde_json::Value)> {
    let mut req = c.get(url).header("X-Remote-User", HPA_USER);
    for (k, v) in extra {
        req = req.header(k, v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let res = req.send().await.ok()?;
    let code = res.status().as_u16();
    Some((code, res.json().await.unwrap_or(serde_json::Value::Null)))
}

fn reason(r: &Option<(u16, serde_json::Value)>) -> Option<(u16, &str)> {
    r.as_ref()
        .map(|(c, b)| (*c, b["reason"].as_str().unwrap_or("")))
}

#[tokio::test]
async fn oversized_urls_bodies_and_heads_are_refused() {
    let front_proxy = ca("front-proxy-ca");
    let s = start(&front_proxy).await;
    let c = client(
        &s.serving_ca_pem,
        Some(&client_cert(&front_proxy, "front-proxy-client")),
    );
    let url = format!("{}{PATH}", s.url);
    let pad = |n: usize| "a".repeat(n);

    // URL: 7 KiB is served, 9 KiB is 414 (hyper alone allows 64 KiB)
    let long = |n| format!("{url}&pad={}", pad(n));
    assert_eq!(send(&c, &long(7000), &[], None).await.unwrap().0, 200);
    let r = send(&c, &long(9000), &[], None).await;
    assert_eq!(reason(&r), Some((414, "RequestURITooLong")), "{r:?}");

    // body on a GET: 1 KiB is ignored, 100 KiB is 413 unread
    assert_eq!(
        send(&c, &url, &[], Some(vec![b'x'; 1024])).await.unwrap().0,
        200
    );
    let r = send(&c, &url, &[], Some(vec![b'x'; 100 * 1024])).await;
    assert_eq!(reason(&r), Some((413, "RequestEntityTooLarge")), "{r:?}");

    // head: an 8 KiB header is served; 40 KiB or 150 fields are refused by hyper (431 or a
    // closed connection; hyper alone buffers ~400 KiB)
    let big = |n| vec![("X-Big".to_string(), pad(n))];
    assert_eq!(send(&c, &url, &big(8 * 1024), None).await.unwrap().0, 200);
    let r = send(&c, &url, &big(40 * 1024), None).await;
    assert!(r.as_ref().is_none_or(|(code, _)| *code == 431), "{r:?}");
    let many: Vec<_> = (0..150).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let r = send(&c, &url, &many, None).await;
    assert!(r.as_ref().is_none_or(|(code, _)| *code == 431), "{r:?}");

    // the server is still there for well-behaved callers
    assert_eq!(send(&c, &url, &[], None).await.unwrap().0, 200);
}

/// A provider that holds every read until released, and says when one has arrived.
struct Gated {
    entered: Semaphore,
    release: Semaphore,
}

#[async_trait]
impl MetricProvider for Gated {
    async fn get_external_metric(
        &self,
        _: &str,
        metric: &str,
        _: &Selector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        self.entered.add_permits(1);
        self.release.acquire().await.unwrap().forget();
        Ok(vec![ExternalMetricValue {
            metric_name: metric.into(),
            labels: Default::default(),
            timestamp: Utc::now(),
            value: 1.0,
        }])
    }
    async fn list_external_metrics(&self) -> Vec<String> {
        Vec::new()
    }
}

fn request(path: &str, body: Body) -> Request<Body> {
    let mut req = Request::get(path)
        .header("X-Remote-User", HPA_USER)
        .body(body)
        .unwrap();
    req.extensions_mut().insert(PeerIdentity {
        common_name: Some("front-proxy-client".into()),
    });
    req
}

async fn json(res: axum::response::Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

fn gated_app(max_in_flight: usize) -> (Arc<Gated>, axum::Router) {
    let provider = Arc::new(Gated {
        entered: Semaphore::new(0),
        release: Semaphore::new(0),
    });
    let auth = Arc::new(Auth {
        request_header: ArcSwap::from_pointee(RequestHeaderConfig::default()),
        authorizer: Arc::new(AllowAll),
    });
    let limits = Limits {
        max_in_flight,
        retry_after_seconds: 3,
        ..Limits::default()
    };
    (provider.clone(), app_with(provider, auth, None, &limits))
}

const READ: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue";

#[tokio::test]
async fn over_the_in_flight_limit_is_429_with_retry_after_and_probes_still_answer() {
    let (provider, app) = gated_app(2);
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(app.clone().oneshot(request(READ, Body::empty()))))
        .collect();
    provider.entered.acquire_many(2).await.unwrap().forget();

    // answered without waiting (a queued request would still be pending here)
    let third = app
        .clone()
        .oneshot(request(READ, Body::empty()))
        .now_or_never();
    let Some(Ok(res)) = third else {
        provider.release.add_permits(3);
        panic!("the third request was queued instead of answered at once");
    };
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(res.headers()["retry-after"], "3");
    let body = json(res).await;
    assert_eq!(
        (body["kind"].as_str(), body["reason"].as_str()),
        (Some("Status"), Some("TooManyRequests")),
        "{body}"
    );
    assert_eq!(body["details"]["retryAfterSeconds"], 3);
    for probe in ["/livez", "/readyz", "/healthz"] {
        let res = app
            .clone()
            .oneshot(request(probe, Body::empty()))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{probe}");
    }

    provider.release.add_permits(3);
    for h in held {
        assert_eq!(h.await.unwrap().unwrap().status().as_u16(), 200);
    }
    // the slots are free again
    let res = app
        .clone()
        .oneshot(request(READ, Body::empty()))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn a_body_of_unknown_length_is_read_only_up_to_the_limit() {
    let (provider, app) = gated_app(8);
    provider.release.add_permits(2);
    let chunks = |n: usize| {
        let chunk = bytes_of(16 * 1024);
        Body::from_stream(futures::stream::iter(
            (0..n).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        ))
    };
    let res = app.clone().oneshot(request(READ, chunks(2))).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let res = app.clone().oneshot(request(READ, chunks(5))).await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    assert_eq!(json(res).await["reason"], "RequestEntityTooLarge");
}

fn bytes_of(n: usize) -> Vec<u8> {
    vec![b'x'; n]
}
