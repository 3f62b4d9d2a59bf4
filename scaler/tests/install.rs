//! The serving certificate the operator makes (`--cert-mode operator`, install's default):
//! its CA really verifies the certificate for the Service's DNS name (checked with a TLS
//! handshake against the metrics API server), and a name it does not carry fails.

use prescale::serving_cert::{Action, Policy, apply, service_names};
use prescale_metrics_adapter::tls::{CertSource, TlsState};
use std::sync::Arc;

#[tokio::test]
async fn ca_bundle_verifies_the_serving_certificate_over_tls() {
    let data = apply(
        &Action::Fresh("test".into()),
        &Default::default(),
        &service_names("prescale-metrics-apiserver", "prescale"),
        &Policy::default(),
        chrono::Utc::now().timestamp(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), &data["tls.crt"]).unwrap();
    std::fs::write(dir.path().join("tls.key"), &data["tls.key"]).unwrap();
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
    let ca = data["ca.crt"].as_bytes();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap())
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
        .add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap())
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
