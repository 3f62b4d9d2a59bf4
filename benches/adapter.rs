//! The in-process metrics adapter the adapter benches drive: the real server
//! (`prescale_metrics_adapter::server`) over HTTPS with certificates generated here, a provider
//! that answers at once (or after 50 ms, or not at all), and clients as the aggregator is one
//! (front-proxy client certificate, keep-alive).

use arc_swap::ArcSwap;
use async_trait::async_trait;
use prescale_metrics_adapter::auth::{Auth, RequestHeaderConfig};
use prescale_metrics_adapter::authz::AllowAll;
use prescale_metrics_adapter::limits::Limits;
use prescale_metrics_adapter::tls::{CertSource, TlsState};
use prescale_metrics_adapter::{
    ExternalMetricValue, MetricProvider, ProviderError, Selector, app_with, server,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::sync::Arc;
use std::time::Duration;

/// The external metrics path of the benches' namespace.
pub const READ: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/bench";

/// One metric served at once, one after 50 ms, the rest unknown.
pub struct Provider;

#[async_trait]
impl MetricProvider for Provider {
    async fn get_external_metric(
        &self,
        _: &str,
        metric: &str,
        _: &Selector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        match metric {
            "queue" => {}
            "slow" => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => return Err(ProviderError::NotFound(format!("no metric {metric}"))),
        }
        Ok(vec![ExternalMetricValue {
            metric_name: metric.into(),
            labels: Default::default(),
            timestamp: chrono::Utc::now(),
            value: 7.0,
        }])
    }
    async fn list_external_metrics(&self) -> Vec<String> {
        vec!["queue".into(), "slow".into()]
    }
}

pub struct Certs {
    pub serving_ca: String,
    pub serving: (String, String),
    pub front_proxy_ca: String,
    /// The front-proxy client certificate and key, PEM.
    pub client: String,
}

/// A serving CA and certificate, and a front-proxy CA with its client certificate.
pub fn certs() -> Certs {
    let ca = |cn: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let pem = p.self_signed(&key).unwrap().pem();
        (p, key, pem)
    };
    let leaf = |names: Vec<String>, cn: &str, ca: &(CertificateParams, KeyPair, String)| {
        let mut p = CertificateParams::new(names).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        let cert = p
            .signed_by(&key, &Issuer::from_params(&ca.0, &ca.1))
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (serving_ca, front_proxy_ca) = (ca("serving-ca"), ca("front-proxy-ca"));
    let serving = leaf(vec!["localhost".into()], "prescale", &serving_ca);
    let (cert, key) = leaf(Vec::new(), "front-proxy-client", &front_proxy_ca);
    Certs {
        serving_ca: serving_ca.2,
        serving,
        front_proxy_ca: front_proxy_ca.2,
        client: format!("{cert}{key}"),
    }
}

/// Serves the adapter on 127.0.0.1 (with at most `max_in_flight` requests at once); its port.
pub async fn serve(c: &Certs, dir: &std::path::Path, max_in_flight: usize) -> u16 {
    std::fs::write(dir.join("tls.crt"), &c.serving.0).unwrap();
    std::fs::write(dir.join("tls.key"), &c.serving.1).unwrap();
    let source = CertSource::Files {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    };
    let tls = TlsState::new(source, Some(c.front_proxy_ca.clone().into_bytes())).unwrap();
    let auth = Arc::new(Auth {
        request_header: ArcSwap::from_pointee(RequestHeaderConfig::default()),
        authorizer: Arc::new(AllowAll),
    });
    let limits = Limits {
        max_in_flight,
        ..Limits::default()
    };
    let app = app_with(Arc::new(Provider), auth, None, &limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(server::serve(listener, tls, app, std::future::pending()));
    port
}

/// An HTTPS client trusting the serving CA, with the front-proxy identity when `identity`.
pub fn client(c: &Certs, identity: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(c.serving_ca.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10));
    if identity {
        b = b.identity(reqwest::Identity::from_pem(c.client.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

/// A fresh directory for the serving certificate files.
pub fn tempfile_dir() -> std::path::PathBuf {
    // one per call: two benches in one process (the smoke tests) must not share key files
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("prescale-adapter-load-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
