//! Real HTTPS with certificates generated here: the aggregator's front-proxy client certificate
//! gets answers; no certificate, a certificate from another CA, a disallowed common name, or a
//! denied user get 401/403 `Status` bodies. Serving certificates reload without restart.

mod support;

use rcgen::{CertificateParams, DnType, Issuer, KeyPair};
use support::{HPA_USER, PATH, ca, call, client, client_cert, start};

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

/// Every route but the probes, discovery and OpenAPI included.
const AUTHENTICATED: &[(&str, u16)] = &[
    ("/apis", 200),
    ("/apis/external.metrics.k8s.io", 200),
    ("/apis/external.metrics.k8s.io/v1beta1", 200),
    (PATH, 200),
    (
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/unknown",
        404,
    ),
    ("/openapi/v2", 200),
    ("/openapi/v3", 200),
    ("/openapi/v3/apis/external.metrics.k8s.io/v1beta1", 200),
    ("/no/such/route", 404),
];

#[tokio::test]
async fn without_a_verified_front_proxy_certificate_every_route_is_401() {
    let front_proxy = ca("front-proxy-ca");
    let s = start(&front_proxy).await;
    let good = client(
        &s.serving_ca_pem,
        Some(&client_cert(&front_proxy, "front-proxy-client")),
    );
    let no_cert = client(&s.serving_ca_pem, None);
    // the allowed common name, but signed by another CA, or by itself
    let other_ca = client(
        &s.serving_ca_pem,
        Some(&client_cert(&ca("someone-else"), "front-proxy-client")),
    );
    let self_signed = {
        let c = ca("front-proxy-client");
        client(
            &s.serving_ca_pem,
            Some(&format!("{}{}", c.pem, c.key.serialize_pem())),
        )
    };
    for (path, code) in AUTHENTICATED {
        let url = format!("{}{path}", s.url);
        assert_eq!(call(&good, &url, HPA_USER).await.0, *code, "{path}");
        for (who, c) in [
            ("none", &no_cert),
            ("other CA", &other_ca),
            ("self", &self_signed),
        ] {
            let (code, body) = call(c, &url, HPA_USER).await;
            assert_eq!(
                (code, body["kind"].as_str(), body["reason"].as_str()),
                (401, Some("Status"), Some("Unauthorized")),
                "{path} with certificate {who}: {body}"
            );
        }
    }
    for probe in ["/livez", "/readyz", "/healthz"] {
        let res = no_cert
            .get(format!("{}{probe}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{probe}");
    }
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
