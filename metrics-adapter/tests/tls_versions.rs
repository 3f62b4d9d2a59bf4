//! TLS 1.2 and 1.3 only. rustls has no TLS 1.0/1.1 code at all, so no rustls client can ask
//! for them: the old versions are offered by Debian's `openssl s_client` (required on the test
//! machine, as redis-server is for the scaler tests), with `@SECLEVEL=0` so that OpenSSL itself
//! is willing to send them. The same command with `-tls1_2`/`-tls1_3` must succeed, and the
//! refusal must be the server's: it answers the old hello with an alert (rustls sends
//! `handshake_failure`), which `s_client` reports as "SSL alert number".

mod support;

use support::{HPA_USER, PATH, ca, call, client_cert, start};

/// Runs `openssl s_client` against `port` with the version flag; its exit status and output.
async fn s_client(port: u16, version_flag: &str) -> (bool, String) {
    let out = tokio::process::Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args([version_flag, "-cipher", "DEFAULT:@SECLEVEL=0"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("openssl (Debian package openssl) is needed for this test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn only_tls_1_2_and_1_3_handshake() {
    let s = start(&ca("front-proxy-ca")).await;
    let port: u16 = s.url.rsplit(':').next().unwrap().parse().unwrap();
    for (flag, name) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let (ok, out) = s_client(port, flag).await;
        assert!(
            ok && out.contains(&format!("New, {name}, Cipher")),
            "{flag}: {out}"
        );
    }
    for flag in ["-tls1_1", "-tls1"] {
        let (ok, out) = s_client(port, flag).await;
        assert!(
            !ok && out.contains("SSL alert number"),
            "{flag} must be refused by the server: {out}"
        );
    }
}

#[tokio::test]
async fn a_client_limited_to_tls_1_2_gets_answers() {
    let front_proxy = ca("front-proxy-ca");
    let s = start(&front_proxy).await;
    let id = client_cert(&front_proxy, "front-proxy-client");
    let c = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(s.serving_ca_pem.as_bytes()).unwrap())
        .identity(reqwest::Identity::from_pem(id.as_bytes()).unwrap())
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    let (code, body) = call(&c, &format!("{}{PATH}", s.url), HPA_USER).await;
    assert_eq!(code, 200, "{body}");
}
