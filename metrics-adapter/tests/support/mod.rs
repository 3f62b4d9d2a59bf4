//! Shared by the HTTPS tests: certificates generated here (rcgen), a one-metric provider, an
//! authorizer that allows only the HPA, and the server started on 127.0.0.1.

#![allow(dead_code)]

use arc_swap::ArcSwap;
use async_trait::async_trait;
use chrono::Utc;
use prescale_metrics_adapter::auth::{Auth, RequestHeaderConfig, User};
use prescale_metrics_adapter::authz::{Attributes, Authorizer};
use prescale_metrics_adapter::limits::Limits;
use prescale_metrics_adapter::tls::{CertSource, TlsState};
use prescale_metrics_adapter::{
    ExternalMetricValue, MetricProvider, ProviderError, Selector, app_with, server,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::sync::Arc;

pub struct Ca {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub pem: String,
}

pub fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A client certificate with common name `cn` signed by `ca`, as PEM cert + key.
pub fn client_cert(ca: &Ca, cn: &str) -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().unwrap();
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    format!("{}{}", cert.pem(), key.serialize_pem())
}

pub struct OneMetric;

#[async_trait]
impl MetricProvider for OneMetric {
    async fn get_external_metric(
        &self,
        ns: &str,
        metric: &str,
        _: &Selector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        if ns == "shop" && metric.eq_ignore_ascii_case("s0-redis-jobs") {
            return Ok(vec![ExternalMetricValue {
                metric_name: "s0-redis-jobs".into(),
                labels: Default::default(),
                timestamp: Utc::now(),
                value: 3.0,
            }]);
        }
        Err(ProviderError::NotFound(format!(
            "no matching metrics found for {metric}"
        )))
    }
    async fn list_external_metrics(&self) -> Vec<String> {
        vec!["s0-redis-jobs".into()]
    }
}

/// Allows the HPA's service account, denies everyone else (the authorizer contract; the
/// SubjectAccessReview client itself is tested against the API stand-in).
pub struct HpaOnly;

#[async_trait]
impl Authorizer for HpaOnly {
    async fn allowed(&self, user: &User, _: &Attributes) -> Result<bool, String> {
        Ok(user.name == "system:serviceaccount:kube-system:horizontal-pod-autoscaler")
    }
}

pub struct Server {
    pub registry: prometheus_client::registry::Registry,
    pub url: String,
    pub serving_ca_pem: String,
    pub tls: Arc<TlsState>,
    pub dir: tempfile::TempDir,
}

pub async fn start(front_proxy_ca: &Ca) -> Server {
    start_with(front_proxy_ca, &Limits::default()).await
}

pub async fn start_with(front_proxy_ca: &Ca, limits: &Limits) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let serving_ca = ca("serving-ca");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "prescale-metrics-apiserver");
    let key = KeyPair::generate().unwrap();
    let cert = params
        .signed_by(
            &key,
            &Issuer::from_params(&serving_ca.params, &serving_ca.key),
        )
        .unwrap();
    std::fs::write(dir.path().join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls.key"), key.serialize_pem()).unwrap();
    let tls = TlsState::new(
        CertSource::Files {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        },
        Some(front_proxy_ca.pem.clone().into_bytes()),
    )
    .unwrap();
    let auth = Arc::new(Auth {
        request_header: ArcSwap::from_pointee(RequestHeaderConfig {
            allowed_names: vec!["front-proxy-client".into()],
            ..Default::default()
        }),
        authorizer: Arc::new(HpaOnly),
    });
    let mut registry = prometheus_client::registry::Registry::with_prefix("metrics_api");
    let metrics = prescale_metrics_adapter::metrics::AdapterMetrics::register(&mut registry);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(server::serve(
        listener,
        tls.clone(),
        app_with(Arc::new(OneMetric), auth, Some(metrics), limits),
        std::future::pending(),
    ));
    Server {
        registry,
        url: format!("https://localhost:{port}"),
        serving_ca_pem: serving_ca.pem,
        tls,
        dir,
    }
}

pub fn client(server_ca: &str, identity: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(server_ca.as_bytes()).unwrap())
        .resolve("localhost", "127.0.0.1:0".parse().unwrap());
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pem(id.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

pub const HPA_USER: &str = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";
pub const PATH: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s0-redis-jobs?labelSelector=scaledobject.keda.sh%2Fname%3Dworker";

pub async fn call(c: &reqwest::Client, url: &str, user: &str) -> (u16, serde_json::Value) {
    let res = c
        .get(url)
        .header("X-Remote-User", user)
        .header("X-Remote-Group", "system:serviceaccounts")
        .send()
        .await
        .unwrap();
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(serde_json::Value::Null))
}
