//! The prometheus scaler against a real Prometheus scraping a test exporter: values, activity,
//! KEDA's result handling on real answers, failures, auth, TLS, route prefix, shared clients.

use prescale_scalers::{Context, Error, Scaler, TriggerInput, registry};
use prescale_testkit::prometheus::{PrometheusOptions, PrometheusServer};
use prescale_testkit::tls::TlsFiles;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ctx() -> Context {
    Context {
        default_timeout: Duration::from_secs(3),
        ..Context::default()
    }
}

async fn scaler(ctx: &Context, input: TriggerInput) -> Result<Arc<dyn Scaler>, Error> {
    registry::parse(&input)?.connect(ctx).await
}

fn trigger(address: &str, query: &str, extra: &[(&str, &str)]) -> TriggerInput {
    let mut meta = vec![
        ("serverAddress", address),
        ("query", query),
        ("threshold", "10"),
    ];
    meta.extend_from_slice(extra);
    TriggerInput::new("prometheus", 0, &meta)
}

/// Samples until the value is `want` (the scrape and the query's whole-second time may lag).
async fn eventually(s: &Arc<dyn Scaler>, want: f64) -> prescale_scalers::Sample {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = s.sample().await.unwrap();
        if v.value == want || Instant::now() > deadline {
            assert_eq!(v.value, want);
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn value_follows_the_scraped_gauge_and_activity_uses_the_threshold() {
    let p = PrometheusServer::start();
    let ctx = ctx();
    p.exporter.set(5.0);
    p.wait_for_value(5.0);
    let s = scaler(
        &ctx,
        trigger(
            &p.address(),
            "sum(queue_depth)",
            &[("activationThreshold", "5")],
        ),
    )
    .await
    .unwrap();
    // the query's `time` is cut to whole seconds (as KEDA sends it): allow for that lag
    let v = eventually(&s, 5.0).await;
    assert!(!v.active, "5 is not above 5");
    p.exporter.set(42.5);
    p.wait_for_value(42.5);
    assert!(eventually(&s, 42.5).await.active);
}

#[tokio::test]
async fn keda_result_rules_on_real_answers() {
    let p = PrometheusServer::start();
    let ctx = ctx();
    let a = p.address();
    let value = |q: &str, ignore: &str| trigger(&a, q, &[("ignoreNullValues", ignore)]);
    // empty result
    assert_eq!(
        scaler(&ctx, value("vector(1) > 2", "true"))
            .await
            .unwrap()
            .sample()
            .await
            .unwrap()
            .value,
        0.0
    );
    let e = scaler(&ctx, value("vector(1) > 2", "false"))
        .await
        .unwrap()
        .sample()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "prometheus metrics 'prometheus' target may be lost, the result is empty"
    );
    // multiple elements, regardless of ignoreNullValues
    let two = r#"label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")"#;
    let e = scaler(&ctx, value(two, "true"))
        .await
        .unwrap()
        .sample()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("returned multiple elements"), "{e}");
    // NaN and +Inf
    assert_eq!(
        scaler(&ctx, value("vector(NaN)", "true"))
            .await
            .unwrap()
            .sample()
            .await
            .unwrap()
            .value,
        0.0
    );
    assert_eq!(
        scaler(&ctx, value("vector(NaN)", "false"))
            .await
            .unwrap()
            .sample()
            .await
            .unwrap_err()
            .to_string(),
        "prometheus query returns NaN"
    );
    assert_eq!(
        scaler(&ctx, value("vector(+Inf)", "false"))
            .await
            .unwrap()
            .sample()
            .await
            .unwrap_err()
            .to_string(),
        "prometheus query returns +Inf"
    );
    // a scalar result does not decode, as in KEDA
    assert!(
        scaler(&ctx, value("scalar(vector(1))", "true"))
            .await
            .unwrap()
            .sample()
            .await
            .is_err()
    );
    // a bad query
    let e = scaler(&ctx, value("sum(", "true"))
        .await
        .unwrap()
        .sample()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "prometheus query api returned error. status: 400");
}

#[tokio::test]
async fn server_down_and_timeouts() {
    let mut p = PrometheusServer::start();
    let ctx = ctx();
    let s = scaler(&ctx, trigger(&p.address(), "vector(1)", &[]))
        .await
        .unwrap();
    assert_eq!(s.sample().await.unwrap().value, 1.0);
    p.kill();
    assert!(matches!(s.sample().await, Err(Error::Connect(_))));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(2).collect();
        std::thread::sleep(Duration::from_secs(20));
        drop(held);
    });
    let s = scaler(
        &ctx,
        trigger(
            &format!("http://{addr}"),
            "vector(1)",
            &[("timeout", "400")],
        ),
    )
    .await
    .unwrap();
    let started = Instant::now();
    assert!(matches!(s.sample().await, Err(Error::Timeout { .. })));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn route_prefix_and_query_parameters() {
    let p = PrometheusServer::start_with(PrometheusOptions {
        route_prefix: Some("/prom".into()),
        ..Default::default()
    });
    let ctx = ctx();
    let s = scaler(
        &ctx,
        trigger(
            &p.address(),
            "vector(3)",
            &[("queryParameters", "stats=all")],
        ),
    )
    .await
    .unwrap();
    assert_eq!(s.sample().await.unwrap().value, 3.0);
}

#[tokio::test]
async fn basic_auth_over_tls_and_client_certificates() {
    let files = TlsFiles::generate();
    let p = PrometheusServer::start_with(PrometheusOptions {
        tls: Some(files.clone()),
        basic_auth: Some(("keda".into(), "right-pass".into())),
        ..Default::default()
    });
    let ctx = ctx();
    let auth = |pass: &str| {
        vec![
            ("authModes", "basic".to_string()),
            ("username", "keda".into()),
            ("password", pass.to_string()),
            ("ca", files.ca_pem.clone()),
        ]
    };
    let with = |pairs: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        trigger(&p.address(), "vector(7)", &[]).with_auth(&refs)
    };
    assert_eq!(
        scaler(&ctx, with(auth("right-pass")))
            .await
            .unwrap()
            .sample()
            .await
            .unwrap()
            .value,
        7.0
    );
    let e = scaler(&ctx, with(auth("wrong-pass-42")))
        .await
        .unwrap()
        .sample()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "prometheus query api returned error. status: 401");
    // without the CA the certificate is not trusted; unsafeSsl skips verification
    let e = scaler(&ctx, trigger(&p.address(), "vector(7)", &[]))
        .await
        .unwrap()
        .sample()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("prometheus query failed"), "{e}");
    let insecure = trigger(&p.address(), "vector(7)", &[("unsafeSsl", "true")]).with_auth(&[
        ("authModes", "basic"),
        ("username", "keda"),
        ("password", "right-pass"),
    ]);
    assert_eq!(
        scaler(&ctx, insecure)
            .await
            .unwrap()
            .sample()
            .await
            .unwrap()
            .value,
        7.0
    );

    let mtls = PrometheusServer::start_with(PrometheusOptions {
        tls: Some(files.clone()),
        require_client_cert: true,
        ..Default::default()
    });
    let client = trigger(&mtls.address(), "vector(9)", &[]).with_auth(&[
        ("authModes", "tls"),
        ("cert", &files.client_cert_pem),
        ("key", &files.client_key_pem),
        ("ca", &files.ca_pem),
    ]);
    assert_eq!(
        scaler(&ctx, client)
            .await
            .unwrap()
            .sample()
            .await
            .unwrap()
            .value,
        9.0
    );
    let no_cert = trigger(&mtls.address(), "vector(9)", &[("unsafeSsl", "true")]);
    assert!(
        scaler(&ctx, no_cert).await.unwrap().sample().await.is_err(),
        "client certificate required"
    );
}

#[tokio::test]
async fn headers_and_bearer_token_are_sent() {
    // a recording endpoint for the request headers only; values above come from Prometheus
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut c, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let n = c.read(&mut buf).unwrap();
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"4"]}]}}"#;
        write!(
            c,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    });
    let ctx = ctx();
    let t = trigger(
        &format!("http://{addr}"),
        "up",
        &[
            ("customHeaders", "X-Scope-OrgID=tenant-a"),
            ("namespace", "team-b"),
        ],
    )
    .with_auth(&[("authModes", "bearer"), ("bearerToken", "tok-123")]);
    assert_eq!(
        scaler(&ctx, t).await.unwrap().sample().await.unwrap().value,
        4.0
    );
    let req = seen.join().unwrap().to_lowercase();
    assert!(req.contains("x-scope-orgid: tenant-a"), "{req}");
    assert!(req.contains("authorization: bearer tok-123"), "{req}");
    assert!(req.contains("&namespace=team-b"), "{req}");
}

#[tokio::test]
async fn triggers_share_one_client_per_tls_configuration() {
    let p = PrometheusServer::start();
    let ctx = ctx();
    let _a = scaler(&ctx, trigger(&p.address(), "vector(1)", &[]))
        .await
        .unwrap();
    let _b = scaler(&ctx, trigger(&p.address(), "vector(2)", &[]))
        .await
        .unwrap();
    assert_eq!(ctx.pools.count::<reqwest::Client>(), 1);
    let _c = scaler(
        &ctx,
        trigger(&p.address(), "vector(2)", &[("unsafeSsl", "true")]),
    )
    .await
    .unwrap();
    assert_eq!(ctx.pools.count::<reqwest::Client>(), 2);
}
