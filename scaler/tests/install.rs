//! `prescale install`: the APIService's caBundle really verifies the serving certificate for
//! the Service's DNS name (checked with a TLS handshake against the metrics API server).

use base64::Engine;
use prescale::cli::install::documents;
use prescale_metrics_adapter::tls::{CertSource, TlsState};
use std::sync::Arc;

#[tokio::test]
async fn ca_bundle_verifies_the_serving_certificate_over_tls() {
    let docs = documents("prescale", "img", 2).unwrap();
    let secret = docs.iter().find(|d| d["kind"] == "Secret").unwrap();
    let api_service = docs.iter().find(|d| d["kind"] == "APIService").unwrap();
    assert!(api_service["spec"]["insecureSkipTLSVerify"].is_null());
    let d = |v: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), d(&secret["data"]["tls.crt"])).unwrap();
    std::fs::write(dir.path().join("tls.key"), d(&secret["data"]["tls.key"])).unwrap();
    let tls = TlsState::new(
        CertSource::Files {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        },
        None,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route("/livez", axum::routing::get(|| async { "ok" }));
    tokio::spawn(prescale_metrics_adapter::server::serve(
        listener,
        Arc::clone(&tls),
        app,
        std::future::pending(),
    ));
    let host = "prescale-metrics-apiserver.prescale.svc";
    let ca = d(&api_service["spec"]["caBundle"]);
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .resolve(host, ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let res = client
        .get(format!("https://{host}:{port}/livez"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // a name the certificate does not carry fails verification
    let wrong = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .resolve("other.example", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    assert!(
        wrong
            .get(format!("https://other.example:{port}/livez"))
            .send()
            .await
            .is_err()
    );
}
