//! The serving certificate made and rotated by the operator (`--cert-mode operator`) on the API
//! stand-in, with two replicas: the leader creates the Secret, renews the serving certificate
//! and then the CA (short lifetimes here), and keeps the APIService's `caBundle` in step; both
//! replicas swap to each new certificate, and a client that trusts only the current `caBundle`
//! (as kube-aggregator does) is served by both replicas at every moment.

mod support;

use base64::Engine;
use prescale::cli::install::{Options, documents};
use prescale::context::OperatorConfig;
use prescale::operator::MetricsApiOptions;
use prescale::serving_cert::{ManagedCert, Policy, ServingCertConfig};
use prescale_kube_standin::ApiServer;
use prescale_metrics_adapter::tls::CertSource;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::{Operator, aggregation, eventually};

const HOST: &str = "prescale-metrics-apiserver.prescale.svc";
const SECRET: &str = "prescale-metrics-apiserver-certs";
const API_SERVICE: &str = "v1beta1.external.metrics.k8s.io";

fn config(policy: Policy) -> OperatorConfig {
    OperatorConfig {
        serving_cert: Some(ServingCertConfig {
            namespace: "prescale".into(),
            secret: SECRET.into(),
            manage: Some(ManagedCert {
                webhook_configuration: Some(
                    prescale::cli::install_webhook::CONFIGURATION.to_string(),
                ),
                service: "prescale-metrics-apiserver".into(),
                api_service: API_SERVICE.into(),
                policy,
            }),
        }),
        ..Default::default()
    }
}

async fn metrics_api() -> (MetricsApiOptions, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let opts = MetricsApiOptions {
        listener,
        cert: CertSource::SelfSigned {
            names: vec!["localhost".into()],
        },
        authorization: false,
        watch_front_proxy_config: true,
        max_age: None,
        metrics: None,
    };
    (opts, port)
}

fn ca_bundle(api: &ApiServer) -> Option<Vec<u8>> {
    let svc = api.get("apiregistration.k8s.io/v1", "APIService", "", API_SERVICE)?;
    base64::engine::general_purpose::STANDARD
        .decode(svc["spec"]["caBundle"].as_str()?)
        .ok()
}

fn secret_cert(api: &ApiServer) -> Option<Vec<u8>> {
    let s = api.get("v1", "Secret", "prescale", SECRET)?;
    base64::engine::general_purpose::STANDARD
        .decode(s["data"]["tls.crt"].as_str()?)
        .ok()
}

/// One discovery read through TLS verified by `ca` for the Service's name; the leaf served.
async fn read(identity: &str, ca: &[u8], port: u16) -> Result<Vec<u8>, String> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .tls_info(true)
        .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
        .resolve(HOST, ([127, 0, 0, 1], port).into());
    for cert in reqwest::Certificate::from_pem_bundle(ca).map_err(|e| e.to_string())? {
        builder = builder.add_root_certificate(cert);
    }
    let res = builder
        .build()
        .unwrap()
        .get(format!(
            "https://{HOST}:{port}/apis/external.metrics.k8s.io/v1beta1"
        ))
        .header("X-Remote-User", aggregation::HPA_USER)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    if res.status() != 200 {
        return Err(format!("status {}", res.status()));
    }
    let info = res.extensions().get::<reqwest::tls::TlsInfo>().cloned();
    Ok(info
        .and_then(|i| i.peer_certificate().map(<[u8]>::to_vec))
        .unwrap_or_default())
}

fn der_of(pem: &[u8]) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem).unwrap().1.contents
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_rotates_certificate_and_ca_while_both_replicas_keep_serving() {
    let api = ApiServer::new();
    let identity = aggregation::front_proxy(&api);
    // the APIService as install makes it: no caBundle until the operator fills it
    let objects = documents(&Options::new("prescale"));
    let svc = objects.iter().find(|o| o["kind"] == "APIService").unwrap();
    assert!(svc["spec"]["caBundle"].is_null());
    api.put(svc.clone());
    // and the admission webhook's configuration (in by default), whose caBundle follows the
    // same CA
    let vwc = objects
        .iter()
        .find(|o| o["kind"] == "ValidatingWebhookConfiguration")
        .unwrap();
    api.put(vwc.clone());

    let policy = Policy {
        cert_validity: Duration::from_secs(8),
        ca_validity: Duration::from_secs(16),
    };
    let lease = Duration::from_secs(2);
    let (m1, port1) = metrics_api().await;
    let (m2, port2) = metrics_api().await;
    let mut a = Operator::start_configured(&api, Some(("a", lease)), Some(m1), config(policy));
    let mut b = Operator::start_configured(&api, Some(("b", lease)), Some(m2), config(policy));

    eventually(10, "the Secret and the caBundle", || {
        Some(()).filter(|_| secret_cert(&api).is_some() && ca_bundle(&api).is_some())
    })
    .await;

    let (mut bundles, mut secret_certs) = (BTreeSet::new(), BTreeSet::new());
    let mut served = [BTreeSet::new(), BTreeSet::new()];
    let (mut reads, mut failures) = (0, Vec::new());
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(22) {
        let ca = ca_bundle(&api).unwrap();
        bundles.insert(ca.clone());
        secret_certs.insert(der_of(&secret_cert(&api).unwrap()));
        for (i, port) in [port1, port2].into_iter().enumerate() {
            reads += 1;
            match read(&identity, &ca, port).await {
                Ok(leaf) => {
                    served[i].insert(leaf);
                }
                Err(e) => failures.push(format!("{:?} replica {i}: {e}", start.elapsed())),
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        failures.is_empty(),
        "{} of {reads} reads failed: {failures:#?}",
        failures.len()
    );
    // 22 s with 8 s certificates renewed at two thirds, a 16 s CA renewed at two thirds
    assert!(
        secret_certs.len() >= 3,
        "serving certificates seen: {}",
        secret_certs.len()
    );
    assert!(bundles.len() >= 2, "caBundles seen: {}", bundles.len());
    for (i, leaves) in served.iter().enumerate() {
        assert!(
            leaves.len() >= 3,
            "replica {i} served {} certificates",
            leaves.len()
        );
        assert!(
            leaves.is_subset(&secret_certs),
            "replica {i} served a certificate not from the Secret"
        );
    }
    // one writer: every serving certificate came from one write, and there were no more
    // writes than one leader makes in this time (1 creation, a renewal per 5.3 s of a
    // certificate's life, two writes per CA renewal every 10.7 s: at most 8 in ~24 s; two
    // writing replicas would double that)
    let secret = api.get("v1", "Secret", "prescale", SECRET).unwrap();
    assert_eq!(secret["type"], "kubernetes.io/tls");
    let writes = api.writes("secrets") as usize;
    eprintln!(
        "{reads} reads, {} serving certificates, {} caBundles, {writes} Secret writes",
        secret_certs.len(),
        bundles.len()
    );
    assert!(
        writes >= secret_certs.len() && writes <= 9,
        "{writes} Secret writes"
    );
    // the webhook configuration trusts the CA the APIService trusts (the same tick writes both)
    let apis_bundle = api
        .get("apiregistration.k8s.io/v1", "APIService", "", API_SERVICE)
        .unwrap()["spec"]["caBundle"]
        .clone();
    eventually(10, "the webhooks' caBundle equals the APIService's", || {
        let vwc = api.get(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "",
            prescale::cli::install_webhook::CONFIGURATION,
        )?;
        let hooks = vwc["webhooks"].as_array()?.clone();
        let current = api.get("apiregistration.k8s.io/v1", "APIService", "", API_SERVICE)?["spec"]
            ["caBundle"]
            .clone();
        (!hooks.is_empty()
            && hooks
                .iter()
                .all(|w| w["clientConfig"]["caBundle"] == current))
        .then_some(())
    })
    .await;
    assert!(apis_bundle.is_string());
    a.stop().await;
    b.stop().await;
}

/// With the certificate from a Secret (cert-manager's mode: the operator only reads it), a
/// replica is not Ready while it serves only its start-up certificate, and becomes Ready once
/// the Secret's is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_until_the_secrets_certificate_is_served() {
    let api = ApiServer::new();
    let identity = aggregation::front_proxy(&api);
    let (m, port) = metrics_api().await;
    let mut cfg = config(Policy::default());
    if let Some(c) = cfg.serving_cert.as_mut() {
        c.manage = None;
    }
    let mut op = Operator::start_configured(&api, None, Some(m), cfg);
    // caches sync within a second; readiness must still wait for the certificate
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!op.handles.readiness.is_ready());
    assert!(
        api.get("v1", "Secret", "prescale", SECRET).is_none(),
        "a reader wrote"
    );

    let data = prescale::serving_cert::apply(
        &prescale::serving_cert::Action::Fresh("cert-manager stands in".into()),
        &Default::default(),
        &prescale::serving_cert::service_names("prescale-metrics-apiserver", "prescale"),
        &Policy::default(),
        chrono::Utc::now().timestamp(),
    )
    .unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    api.put(serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": SECRET, "namespace": "prescale"},
        "data": {"tls.crt": b64(&data["tls.crt"]), "tls.key": b64(&data["tls.key"]), "ca.crt": b64(&data["ca.crt"])}}));
    let readiness = op.handles.readiness.clone();
    eventually(10, "Ready once the Secret's certificate is served", || {
        readiness.is_ready().then_some(())
    })
    .await;
    let leaf = read(&identity, data["ca.crt"].as_bytes(), port)
        .await
        .unwrap();
    assert_eq!(leaf, der_of(data["tls.crt"].as_bytes()));
    op.stop().await;
}

/// While no replica leads (a hand-over Lease held, as in docs/migrating-from-keda.md), the
/// replicas still bootstrap: one creates the missing Secret, the APIService's missing
/// `caBundle` is filled from it, both become Ready; nothing is renewed without a leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_bootstrap_the_certificate_but_never_renew_it() {
    let api = ApiServer::new();
    let _identity = aggregation::front_proxy(&api);
    api.put(serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "prescale-operator", "namespace": "prescale"},
        "spec": {"holderIdentity": "keda-handover", "leaseDurationSeconds": 86400,
                 "renewTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)}}));
    let objects = documents(&Options::new("prescale"));
    api.put(
        objects
            .iter()
            .find(|o| o["kind"] == "APIService")
            .unwrap()
            .clone(),
    );
    let policy = Policy {
        cert_validity: Duration::from_secs(6),
        ca_validity: Duration::from_secs(60),
    };
    let (m1, _) = metrics_api().await;
    let (m2, _) = metrics_api().await;
    let lease = Duration::from_secs(2);
    let mut a = Operator::start_configured(&api, Some(("a", lease)), Some(m1), config(policy));
    let mut b = Operator::start_configured(&api, Some(("b", lease)), Some(m2), config(policy));
    let (ra, rb) = (a.handles.readiness.clone(), b.handles.readiness.clone());
    eventually(10, "both replicas Ready without a leader", || {
        (ra.is_ready() && rb.is_ready()).then_some(())
    })
    .await;
    let bundle = ca_bundle(&api).expect("caBundle filled");
    let secret = api.get("v1", "Secret", "prescale", SECRET).unwrap();
    let ca = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["ca.crt"].as_str().unwrap())
        .unwrap();
    assert_eq!(bundle, ca);
    let cert = secret_cert(&api).unwrap();
    // past the 4 s renewal point of a 6 s certificate: a leader would have renewed it
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(secret_cert(&api).unwrap(), cert, "a follower renewed");
    // at most one create per replica (the stand-in answers the second with 409), one
    // caBundle fill per replica, and nothing since
    assert!(
        api.writes("secrets") <= 2,
        "{} Secret writes",
        api.writes("secrets")
    );
    assert!(api.writes("apiservices") <= 2);
    a.stop().await;
    b.stop().await;
}
