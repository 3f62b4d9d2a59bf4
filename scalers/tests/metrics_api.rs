//! The `metrics-api` trigger against real HTTP endpoints: an axum server run by the test
//! (JSON, YAML, XML and exposition pages whose value the test changes; every auth mode checked
//! by the server, which answers 401 otherwise; failures), a real Prometheus's own `/metrics`
//! page and the test kit's exporter page, and a Prometheus serving HTTPS that demands a client
//! certificate and basic auth.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use base64::Engine;
use prescale_scalers::{Context, Error, Scaler, TriggerInput, registry};
use prescale_testkit::prometheus::{Exporter, PrometheusOptions, PrometheusServer};
use prescale_testkit::tls::TlsFiles;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const API_KEY: &str = "key-5ecret-1";
const PASSWORD: &str = "pa55-5ecret-2";
const TOKEN: &str = "t0ken-5ecret-3";

fn ctx() -> Context {
    Context {
        default_timeout: Duration::from_secs(3),
        ..Context::default()
    }
}

async fn scaler(meta: &[(&str, &str)], auth: &[(&str, &str)]) -> Result<Arc<dyn Scaler>, Error> {
    let input = TriggerInput::new("metrics-api", 0, meta).with_auth(auth);
    registry::parse(&input)?.connect(&ctx()).await
}

async fn sample(meta: &[(&str, &str)], auth: &[(&str, &str)]) -> Result<f64, String> {
    let s = scaler(meta, auth).await.map_err(|e| e.to_string())?;
    s.sample().await.map(|v| v.value).map_err(|e| e.to_string())
}

/// The value the test server reports, in thousandths.
type Shared = Arc<AtomicU64>;

fn current(s: &Shared) -> f64 {
    s.load(Ordering::SeqCst) as f64 / 1000.0
}

fn authorized(h: &HeaderMap, name: &str, want: &str) -> bool {
    h.get(name).and_then(|v| v.to_str().ok()) == Some(want)
}

async fn guarded(ok: bool, s: &Shared) -> (StatusCode, String) {
    if ok {
        (StatusCode::OK, format!("{{\"v\": {}}}", current(s)))
    } else {
        (StatusCode::UNAUTHORIZED, "{}".into())
    }
}

fn query_has(q: &Option<String>, pair: &str) -> bool {
    q.as_deref()
        .is_some_and(|q| q.split('&').any(|p| p == pair))
}

/// Serves the test API on a free loopback port; returns `http://127.0.0.1:<port>`.
async fn serve(value: Shared) -> String {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("ops:{PASSWORD}"))
    );
    let bearer = format!("Bearer {TOKEN}");
    let app = Router::new()
        .route(
            "/stats.json",
            get(|State(s): State<Shared>| async move {
                format!(r#"{{"components":{{"worker":{{"tasks":{}}}}},"load":"250m"}}"#, current(&s))
            }),
        )
        .route(
            "/stats.yaml",
            get(|State(s): State<Shared>| async move {
                format!("components:\n  worker:\n    tasks: {}\n", current(&s))
            }),
        )
        .route(
            "/stats.xml",
            get(|State(s): State<Shared>| async move {
                format!("<stats><worker><tasks>{}</tasks></worker></stats>", current(&s))
            }),
        )
        .route(
            "/metrics",
            get(|State(s): State<Shared>| async move {
                format!(
                    "# TYPE jobs_waiting gauge\njobs_waiting{{queue=\"a\"}} 1\njobs_waiting{{queue=\"b\"}} {}\n",
                    current(&s)
                )
            }),
        )
        .route(
            "/header",
            get(|State(s): State<Shared>, h: HeaderMap| async move {
                guarded(authorized(&h, "x-api-key", API_KEY), &s).await
            }),
        )
        .route(
            "/named-header",
            get(|State(s): State<Shared>, h: HeaderMap| async move {
                guarded(authorized(&h, "x-token", API_KEY), &s).await
            }),
        )
        .route(
            "/query",
            get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move {
                let ok = query_has(&q, &format!("api_key={API_KEY}")) && query_has(&q, "keep=1");
                guarded(ok, &s).await
            }),
        )
        .route(
            "/named-query",
            get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move {
                guarded(query_has(&q, &format!("token={API_KEY}")), &s).await
            }),
        )
        .route(
            "/basic",
            get(move |State(s): State<Shared>, h: HeaderMap| {
                let want = basic.clone();
                async move { guarded(authorized(&h, "authorization", &want), &s).await }
            }),
        )
        .route(
            "/bearer",
            get(move |State(s): State<Shared>, h: HeaderMap| {
                let want = bearer.clone();
                async move { guarded(authorized(&h, "authorization", &want), &s).await }
            }),
        )
        .route(
            "/custom",
            get(|State(s): State<Shared>, h: HeaderMap| async move {
                guarded(authorized(&h, "x-tenant-key", API_KEY), &s).await
            }),
        )
        .route(
            "/status",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "busy") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "{\"v\": 1}"
            }),
        )
        .route(
            "/huge",
            get(|| async { format!("{{\"pad\":\"{}\",\"v\":1}}", "x".repeat(5 << 20)) }),
        )
        .route("/html", get(|| async { "<html><body>hello</body></html>" }))
        .with_state(value);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn trigger<'a>(url: &'a str, format: &'a str, location: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("url", url),
        ("format", format),
        ("valueLocation", location),
        ("targetValue", "5"),
    ]
}

#[tokio::test]
async fn json_yaml_xml_and_exposition_pages_follow_the_value() {
    let value: Shared = Arc::new(AtomicU64::new(12_000));
    let base = serve(value.clone()).await;
    let cases = [
        ("/stats.json", "json", "components.worker.tasks"),
        ("/stats.yaml", "yaml", "components.worker.tasks"),
        ("/stats.xml", "xml", "worker.tasks"),
        ("/metrics", "prometheus", "jobs_waiting{queue=\"b\"}"),
    ];
    for (path, format, location) in cases {
        let url = format!("{base}{path}");
        let s = scaler(&trigger(&url, format, location), &[]).await.unwrap();
        value.store(12_000, Ordering::SeqCst);
        let first = s.sample().await.unwrap();
        assert_eq!((first.value, first.active), (12.0, true), "{format}");
        value.store(0, Ordering::SeqCst);
        let second = s.sample().await.unwrap();
        assert_eq!((second.value, second.active), (0.0, false), "{format}");
        value.store(2_500, Ordering::SeqCst);
        assert_eq!(s.sample().await.unwrap().value, 2.5, "{format}");
    }
    let url = format!("{base}/stats.json");
    assert_eq!(sample(&trigger(&url, "json", "load"), &[]).await, Ok(0.25));
}

#[tokio::test]
async fn every_auth_mode_is_checked_by_the_server() {
    let value: Shared = Arc::new(AtomicU64::new(7_000));
    let base = serve(value).await;
    let u = |p: &str| format!("{base}{p}");
    let (header, named_header) = (u("/header"), u("/named-header"));
    let (query, named_query) = (u("/query?keep=1&api_key=old"), u("/named-query"));
    let (basic, bearer, custom) = (u("/basic"), u("/bearer"), u("/custom"));
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str)>,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            &header,
            vec![("authMode", "apiKey")],
            vec![("apiKey", API_KEY)],
            "apiKey",
        ),
        (
            &named_header,
            vec![("authMode", "apiKey"), ("keyParamName", "X-Token")],
            vec![("apiKey", API_KEY)],
            "apiKey",
        ),
        (
            &query,
            vec![("authMode", "apiKey"), ("method", "query")],
            vec![("apiKey", API_KEY)],
            "apiKey",
        ),
        (
            &named_query,
            vec![("authMode", "apiKey")],
            vec![
                ("apiKey", API_KEY),
                ("method", "query"),
                ("keyParamName", "token"),
            ],
            "apiKey",
        ),
        (
            &basic,
            vec![("authMode", "basic")],
            vec![("username", "ops"), ("password", PASSWORD)],
            "password",
        ),
        (
            &bearer,
            vec![("authMode", "bearer")],
            vec![("token", TOKEN)],
            "token",
        ),
        (
            &custom,
            vec![("authModes", "custom")],
            vec![
                ("customAuthHeader", "X-Tenant-Key"),
                ("customAuthValue", API_KEY),
            ],
            "customAuthValue",
        ),
    ];
    for (url, extra_meta, auth, secret_key) in cases {
        let mut meta = trigger(url, "json", "v");
        meta.extend(extra_meta.iter().copied());
        assert_eq!(sample(&meta, &auth).await, Ok(7.0), "{url} {auth:?}");

        // the same request with a wrong secret is refused by the server, and the error shows
        // neither secret
        let wrong: Vec<(&str, &str)> = auth
            .iter()
            .map(|(k, v)| {
                if *k == secret_key {
                    (*k, "wrong-5ecret")
                } else {
                    (*k, *v)
                }
            })
            .collect();
        let err = sample(&meta, &wrong).await.unwrap_err();
        assert!(err.ends_with("api returned 401"), "{url}: {err}");
        for s in [API_KEY, PASSWORD, TOKEN, "wrong-5ecret"] {
            assert!(!err.contains(s), "{url}: {err}");
        }
        // and without the auth mode nothing is sent
        let bare = trigger(url, "json", "v");
        assert!(
            sample(&bare, &auth).await.unwrap_err().contains("401"),
            "{url}"
        );
    }
}

#[tokio::test]
async fn failures_are_clear_and_bounded() {
    let base = serve(Arc::new(AtomicU64::new(1_000))).await;
    let u = |p: &str| format!("{base}{p}");
    let err = sample(&trigger(&u("/status"), "json", "v"), &[])
        .await
        .unwrap_err();
    assert_eq!(
        err,
        "error requesting metrics endpoint: /status: api returned 503"
    );

    let slow_url = u("/slow");
    let mut slow = trigger(&slow_url, "json", "v");
    slow.push(("timeout", "300ms"));
    let started = Instant::now();
    let err = sample(&slow, &[]).await.unwrap_err();
    assert!(err.contains("timed out after 300ms"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let err = sample(&trigger(&u("/huge"), "json", "v"), &[])
        .await
        .unwrap_err();
    assert!(err.contains("larger than 4 MiB"), "{err}");

    let err = sample(&trigger(&u("/html"), "prometheus", "up"), &[])
        .await
        .unwrap_err();
    assert!(err.contains("line 1 is not a sample"), "{err}");
    let err = sample(&trigger(&u("/html"), "json", "v"), &[])
        .await
        .unwrap_err();
    assert!(err.contains("not valid JSON"), "{err}");
    let err = sample(
        &trigger(&u("/stats.json"), "json", "components.worker.nope"),
        &[],
    )
    .await
    .unwrap_err();
    assert!(err.ends_with("got: 'Null'"), "{err}");

    let port = prescale_testkit::process::free_port();
    let down = format!("http://127.0.0.1:{port}/metrics");
    let err = sample(&trigger(&down, "prometheus", "up"), &[])
        .await
        .unwrap_err();
    assert!(err.contains("connection failed"), "{err}");
}

#[tokio::test]
async fn a_real_prometheus_page_and_the_exporter_page() {
    let prom = PrometheusServer::start();
    let url = format!("{}/metrics", prom.address());
    assert_eq!(
        sample(
            &trigger(
                &url,
                "prometheus",
                "prometheus_config_last_reload_successful"
            ),
            &[]
        )
        .await,
        Ok(1.0)
    );
    let family = "prometheus_http_request_duration_seconds";
    let err = sample(&trigger(&url, "prometheus", family), &[])
        .await
        .unwrap_err();
    assert!(err.contains("is a histogram: choose one sample"), "{err}");
    // after the requests above, /metrics itself has been served at least twice
    let count = format!("{family}_count{{handler=\"/metrics\"}}");
    let bucket = format!("{family}_bucket{{handler=\"/metrics\",le=\"+Inf\"}}");
    assert!(
        sample(&trigger(&url, "prometheus", &count), &[])
            .await
            .unwrap()
            >= 2.0
    );
    assert!(
        sample(&trigger(&url, "prometheus", &bucket), &[])
            .await
            .unwrap()
            >= 3.0
    );
    let err = sample(&trigger(&url, "prometheus", "no_such_metric"), &[])
        .await
        .unwrap_err();
    assert!(err.ends_with("metric 'no_such_metric' not found"), "{err}");

    let exporter = Exporter::start(7.5);
    let page = format!("http://127.0.0.1:{}/metrics", exporter.port);
    let s = scaler(&trigger(&page, "prometheus", "queue_depth"), &[])
        .await
        .unwrap();
    assert_eq!(s.sample().await.unwrap().value, 7.5);
    exporter.set(42.0);
    assert_eq!(s.sample().await.unwrap().value, 42.0);
}

#[tokio::test]
async fn tls_with_a_client_certificate_against_a_real_server() {
    let files = TlsFiles::generate();
    let prom = PrometheusServer::start_with(PrometheusOptions {
        tls: Some(files.clone()),
        require_client_cert: true,
        basic_auth: Some(("ops".into(), PASSWORD.into())),
        ..Default::default()
    });
    let url = format!("{}/metrics", prom.address());
    let location = "prometheus_config_last_reload_successful";
    let mut m = trigger(&url, "prometheus", location);
    m.push(("authModes", "tls,basic"));
    let (cert, key, ca) = (
        ("cert", files.client_cert_pem.as_str()),
        ("key", files.client_key_pem.as_str()),
        ("ca", files.ca_pem.as_str()),
    );
    let (user, pass) = (("username", "ops"), ("password", PASSWORD));
    assert_eq!(sample(&m, &[cert, key, ca, user, pass]).await, Ok(1.0));

    // unsafeSsl: no CA needed, the client certificate is still sent
    let mut insecure = m.clone();
    insecure.push(("unsafeSsl", "true"));
    assert_eq!(sample(&insecure, &[cert, key, user, pass]).await, Ok(1.0));

    // no client certificate: the server ends the handshake
    let mut basic_only = trigger(&url, "prometheus", location);
    basic_only.extend([("authModes", "basic"), ("unsafeSsl", "true")]);
    let err = sample(&basic_only, &[user, pass]).await.unwrap_err();
    assert!(
        err.starts_with("error requesting metrics endpoint: "),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");

    // a wrong password with the right certificate: the server answers 401
    let err = sample(&m, &[cert, key, ca, user, ("password", "wrong-5ecret")])
        .await
        .unwrap_err();
    assert!(err.ends_with("api returned 401"), "{err}");

    // without the CA the server's certificate is not trusted
    let err = sample(&m, &[cert, key, user, pass]).await.unwrap_err();
    assert!(
        err.contains("certificate") || err.contains("connection failed"),
        "{err}"
    );
}
