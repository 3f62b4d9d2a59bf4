//! The aggregation layer of the tests: the front-proxy CA and client certificate the API
//! stand-in publishes in `kube-system/extension-apiserver-authentication`, and the APIService
//! that proxies `external.metrics.k8s.io` to the operator's real HTTPS server, as
//! kube-aggregator does. Clients (the stand-in's HPA controller, `prescale explain`) then read
//! metrics through the API server.

use futures::future::BoxFuture;
use prescale::operator::MetricsApiOptions;
use prescale_kube_standin::ApiServer;
use prescale_metrics_adapter::tls::CertSource;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;
use std::sync::Arc;

/// The HPA controller's user, which the aggregator names in `X-Remote-User`.
pub const HPA_USER: &str = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";

/// Makes the aggregator's front-proxy CA, publishes it in
/// `kube-system/extension-apiserver-authentication`, and returns the client identity (PEM).
pub fn front_proxy(api: &ApiServer) -> String {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "front-proxy-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "front-proxy-client");
    let client_key = KeyPair::generate().unwrap();
    let client_cert = client_params
        .signed_by(&client_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    api.put(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extension-apiserver-authentication", "namespace": "kube-system"},
        "data": {"requestheader-client-ca-file": ca_pem, "requestheader-allowed-names": "[\"front-proxy-client\"]",
                 "requestheader-username-headers": "[\"X-Remote-User\"]", "requestheader-group-headers": "[\"X-Remote-Group\"]"}}));
    format!("{}{}", client_cert.pem(), client_key.serialize_pem())
}

/// An HTTPS client presenting the front-proxy identity.
pub fn https_client(identity: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
        .build()
        .unwrap()
}

/// The metrics API served on a free port with a self-signed certificate, and the APIService
/// `v1beta1.external.metrics.k8s.io` on the stand-in pointing at it (calls carry the HPA
/// controller's user).
pub async fn metrics_api(api: &ApiServer) -> MetricsApiOptions {
    let identity = front_proxy(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = https_client(&identity);
    let backend = move |req: http::Request<bytes::Bytes>| -> BoxFuture<'static, http::Response<bytes::Bytes>> {
        let client = client.clone();
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        Box::pin(async move {
            let answer = client
                .get(format!("https://localhost:{port}{path}"))
                .header("X-Remote-User", HPA_USER)
                .header("X-Remote-Group", "system:serviceaccounts")
                .send()
                .await;
            let (code, body) = match answer {
                Ok(r) => (r.status().as_u16(), r.bytes().await.unwrap_or_default()),
                Err(e) => (
                    503,
                    bytes::Bytes::from(
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503,
                               "reason": "ServiceUnavailable", "message": format!("the APIService backend is unreachable: {e}")})
                        .to_string(),
                    ),
                ),
            };
            http::Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(body)
                .unwrap()
        })
    };
    api.register_api_service("external.metrics.k8s.io", "v1beta1", Arc::new(backend));
    MetricsApiOptions {
        listener,
        cert: CertSource::SelfSigned {
            names: vec!["localhost".into()],
        },
        authorization: false,
        watch_front_proxy_config: true,
        max_age: None,
        metrics: None,
    }
}

/// The HPA controller's metrics client: External metrics read through the API server (the
/// stand-in's aggregation layer, hence the operator's HTTPS metrics API), as on a cluster.
pub struct ThroughApiServer(pub kube::Client);

impl prescale_kube_standin::hpa_controller::ExternalMetrics for ThroughApiServer {
    fn get(
        &self,
        namespace: &str,
        metric: &str,
        selector: &std::collections::BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let selector = percent_encoding::utf8_percent_encode(
            &labels.join(","),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let path = format!(
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}?labelSelector={selector}"
        );
        Box::pin(async move {
            let req = http::Request::get(path)
                .body(Vec::new())
                .map_err(|e| e.to_string())?;
            let list: serde_json::Value = self.0.request(req).await.map_err(|e| e.to_string())?;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                return Err("no metrics returned from external metrics API".into());
            }
            items
                .iter()
                .map(|i| prescale::explain::state::milli(&i["value"], "value"))
                .collect()
        })
    }
}
