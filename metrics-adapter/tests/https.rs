//! Real HTTPS with certificates generated here: the aggregator's front-proxy client certificate
//! gets answers; no certificate, a certificate from another CA, a disallowed common name, or a
//! denied user get 401/403 `Status` bodies. Serving certificates reload without restart.

use arc_swap::ArcSwap;
use async_trait::async_trait;
use chrono::Utc;
use prescale_metrics_adapter::auth::{Auth, RequestHeaderConfig, User};
use prescale_metrics_adapter::authz::{Attributes, Authorizer};
use prescale_metrics_adapter::tls::{CertSource, TlsState};
use prescale_metrics_adapter::{
    ExternalMetricValue, MetricProvider, ProviderError, Selector, app, server,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::sync::Arc;

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A client certificate with common name `cn` signed by `ca`, as PEM cert + key.
fn client_cert(ca: &Ca, cn: &str) -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().unwrap();
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    format!("{}{}", cert.pem(), key.serialize_pem())
}

struct OneMetric;

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
struct HpaOnly;

#[async_trait]
impl Authorizer for HpaOnly {
    async fn allowed(&self, user: &User, _: &Attributes) -> Result<bool, String> {
        Ok(user.name == "system:serviceaccount:kube-system:horizontal-pod-autoscaler")
    }
}

struct Server {
    registry: prometheus_client::registry::Registry,
    url: String,
    serving_ca_pem: String,
    tls: Arc<TlsState>,
    dir: tempfile::TempDir,
}

async fn start(front_proxy_ca: &Ca) -> Server {
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
        app(Arc::new(OneMetric), auth, Some(metrics)),
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

fn client(server_ca: &str, identity: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(server_ca.as_bytes()).unwrap())
        .resolve("localhost", "127.0.0.1:0".parse().unwrap());
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pem(id.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

const HPA_USER: &str = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";
const PATH: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s0-redis-jobs?labelSelector=scaledobject.keda.sh%2Fname%3Dworker";

async fn call(c: &reqwest::Client, url: &str, user: &str) -> (u16, serde_json::Value) {
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

#[tokio::test]
async fn only_the_front_proxy_with_an_allowed_user_gets_answers() {
    let front_proxy = ca("front-proxy-ca");
    let s = start(&front_proxy).await;
    let url = format!("{}{PATH}", s.url);

    let good = client(
        &s.serving_ca_pem,
        Some(&client_cert(&front_proxy, "front-proxy-client")),
    );
    let (code, body) = call(&good, &url, HPA_USER).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["items"][0]["value"], "3");

    // the HPA lower-cases metric names
    let (code, _) = call(
        &good,
        &url.replace("s0-redis-jobs", "S0-REDIS-JOBS"),
        HPA_USER,
    )
    .await;
    assert_eq!(code, 200);

    let (code, body) = call(&good, &url, "system:anonymous-intruder").await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (403, Some("Forbidden")),
        "{body}"
    );

    let no_cert = client(&s.serving_ca_pem, None);
    let (code, body) = call(&no_cert, &url, HPA_USER).await;
    assert_eq!(
        (code, body["kind"].as_str(), body["reason"].as_str()),
        (401, Some("Status"), Some("Unauthorized")),
        "{body}"
    );

    let other_ca = ca("someone-else");
    let foreign = client(
        &s.serving_ca_pem,
        Some(&client_cert(&other_ca, "front-proxy-client")),
    );
    let (code, _) = call(&foreign, &url, HPA_USER).await;
    assert_eq!(code, 401);

    let wrong_cn = client(
        &s.serving_ca_pem,
        Some(&client_cert(&front_proxy, "mallory")),
    );
    let (code, body) = call(&wrong_cn, &url, HPA_USER).await;
    assert_eq!(code, 401);
    assert!(body["message"].as_str().unwrap().contains("mallory"));

    // probes stay anonymous; discovery needs authentication too
    assert_eq!(
        no_cert
            .get(format!("{}/readyz", s.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        call(&no_cert, &format!("{}/apis", s.url), HPA_USER).await.0,
        401
    );
    assert_eq!(
        call(
            &good,
            &format!("{}/apis/external.metrics.k8s.io/v1beta1", s.url),
            HPA_USER
        )
        .await
        .0,
        200
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &s.registry).unwrap();
    assert!(
        text.contains("metrics_api_requests_total{code=\"200\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("metrics_api_requests_total{code=\"401\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("metrics_api_requests_total{code=\"403\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("metrics_api_served_value_age_seconds_count 2"),
        "{text}"
    );
}

#[tokio::test]
async fn serving_certificate_and_client_ca_rotate_without_restart() {
    let front_proxy = ca("front-proxy-ca");
    let s = start(&front_proxy).await;
    let url = format!("{}{PATH}", s.url);

    // a new serving certificate from another CA is picked up on reload
    let new_ca = ca("serving-ca-2");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "prescale-metrics-apiserver");
    let key = KeyPair::generate().unwrap();
    let cert = params
        .signed_by(&key, &Issuer::from_params(&new_ca.params, &new_ca.key))
        .unwrap();
    // a different mtime is what the reloader looks at
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(s.dir.path().join("tls.key"), key.serialize_pem()).unwrap();
    std::fs::write(s.dir.path().join("tls.crt"), cert.pem()).unwrap();
    assert!(s.tls.reload_if_changed().unwrap());
    let id = client_cert(&front_proxy, "front-proxy-client");
    let (code, _) = call(&client(&new_ca.pem, Some(&id)), &url, HPA_USER).await;
    assert_eq!(code, 200);
    assert!(
        client(&s.serving_ca_pem, Some(&id))
            .get(&url)
            .send()
            .await
            .is_err(),
        "old serving CA no longer matches"
    );

    // a broken key file is refused and the current certificate stays
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(s.dir.path().join("tls.key"), "not a key").unwrap();
    assert!(s.tls.reload_if_changed().is_err());
    assert_eq!(
        call(&client(&new_ca.pem, Some(&id)), &url, HPA_USER)
            .await
            .0,
        200
    );

    // the front-proxy CA is swapped: old client certificates stop working
    let rotated = ca("front-proxy-ca-2");
    s.tls
        .set_client_ca(Some(rotated.pem.clone().into_bytes()))
        .unwrap();
    assert_eq!(
        call(&client(&new_ca.pem, Some(&id)), &url, HPA_USER)
            .await
            .0,
        401
    );
    let new_id = client_cert(&rotated, "front-proxy-client");
    assert_eq!(
        call(&client(&new_ca.pem, Some(&new_id)), &url, HPA_USER)
            .await
            .0,
        200
    );
    assert!(s.tls.set_client_ca(Some(b"garbage".to_vec())).is_err());
}
