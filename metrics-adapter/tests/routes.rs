//! The routes over a provider with fixed contents (the provider contract itself, not a data
//! source): status codes, bodies and the namespace/selector the provider is asked with.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use prescale_metrics_adapter::routes::api_router;
use prescale_metrics_adapter::{ExternalMetricValue, MetricProvider, ProviderError, Selector};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

#[derive(Default)]
struct Fixed {
    asked: Mutex<Vec<(String, String, Option<String>)>>,
}

#[async_trait]
impl MetricProvider for Fixed {
    async fn get_external_metric(
        &self,
        ns: &str,
        metric: &str,
        sel: &Selector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        let so = sel
            .exact_value("scaledobject.keda.sh/name")
            .map(str::to_string);
        self.asked
            .lock()
            .unwrap()
            .push((ns.into(), metric.into(), so.clone()));
        match (ns, metric, so.as_deref()) {
            ("shop", "s0-redis-jobs", Some("worker")) => Ok(vec![ExternalMetricValue {
                metric_name: "s0-redis-Jobs".into(),
                labels: Default::default(),
                timestamp: Utc::now(),
                value: 7.0,
            }]),
            (_, "s1-broken", _) => Err(ProviderError::Internal(
                "trigger 1 (redis): connection to redis failed: refused".into(),
            )),
            (_, _, None) => Err(ProviderError::BadRequest(
                "scaledObject name is not specified".into(),
            )),
            _ => Err(ProviderError::NotFound(format!(
                "no matching metrics found for {metric}"
            ))),
        }
    }

    async fn list_external_metrics(&self) -> Vec<String> {
        vec!["s0-redis-Jobs".into()]
    }
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn read_path_answers_and_errors_as_status() {
    let provider = Arc::new(Fixed::default());
    let app = api_router(provider.clone());
    let base = "/apis/external.metrics.k8s.io/v1beta1/namespaces";

    let (code, body) = get(
        &app,
        &format!("{base}/shop/s0-redis-jobs?labelSelector=scaledobject.keda.sh%2Fname%3Dworker"),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "ExternalMetricValueList");
    assert_eq!(body["items"][0]["value"], "7");
    assert_eq!(body["items"][0]["metricName"], "s0-redis-Jobs");

    let (code, body) = get(
        &app,
        &format!("{base}/shop/s0-redis-jobs?labelSelector=a%20in%20(x"),
    )
    .await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BadRequest"))
    );
    assert!(body["message"].as_str().unwrap().contains("unbalanced"));

    let (code, body) = get(
        &app,
        &format!("{base}/shop/s9-nothing?labelSelector=scaledobject.keda.sh%2Fname%3Dworker"),
    )
    .await;
    assert_eq!(
        (code, body["reason"].as_str(), body["kind"].as_str()),
        (StatusCode::NOT_FOUND, Some("NotFound"), Some("Status"))
    );

    let (code, body) = get(
        &app,
        &format!("{base}/shop/s1-broken?labelSelector=scaledobject.keda.sh%2Fname%3Dworker"),
    )
    .await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("InternalError"))
    );
    assert!(body["message"].as_str().unwrap().contains("trigger 1"));

    // the provider saw exactly the namespace of the path, never another one
    let asked = provider.asked.lock().unwrap().clone();
    assert!(asked.iter().all(|(ns, _, _)| ns == "shop"), "{asked:?}");
    assert_eq!(
        asked.len(),
        3,
        "a malformed selector never reaches the provider"
    );
}

#[tokio::test]
async fn discovery_and_openapi() {
    let app = api_router(Arc::new(Fixed::default()));
    let (code, body) = get(&app, "/apis").await;
    assert_eq!(
        (code, body["kind"].as_str()),
        (StatusCode::OK, Some("APIGroupList"))
    );
    let (_, body) = get(&app, "/apis/external.metrics.k8s.io").await;
    assert_eq!(body["kind"], "APIGroup");
    let (_, body) = get(&app, "/apis/external.metrics.k8s.io/v1beta1").await;
    assert_eq!(body["kind"], "APIResourceList");
    assert!(
        body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "s0-redis-Jobs")
    );
    let (code, body) = get(&app, "/openapi/v2").await;
    assert_eq!(
        (code, body["swagger"].as_str()),
        (StatusCode::OK, Some("2.0"))
    );
    let (_, body) = get(&app, "/openapi/v3/apis/external.metrics.k8s.io/v1beta1").await;
    assert_eq!(body["openapi"], "3.0.0");
    let (code, body) = get(&app, "/apis/other.group/v1").await;
    assert_eq!(
        (code, body["kind"].as_str()),
        (StatusCode::NOT_FOUND, Some("Status"))
    );
}
