//! The `prometheus-forecast` trigger against a real Prometheus whose TSDB was backfilled (with
//! `promtool`) with days of a seasonal series ending at the wall clock's "now": the forecast
//! served ahead of a daily peak, chunked first read and incremental refresh, and failures.

use chrono::{TimeZone, Utc};
use prescale_scalers::prometheus_forecast::{
    PrometheusForecastDefinition, PrometheusForecastScaler,
};
use prescale_scalers::{Context, Error, ManualClock, Scaler, TriggerInput, registry};
use prescale_testkit::prometheus::{PrometheusOptions, PrometheusServer};
use prescale_testkit::series::noise;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DAY: i64 = 86_400;
const METRIC: &str = "forecast_load";

/// 10 + a daily peak of +90 (σ = 7 minutes) at the time of day `peak_tod`, ± 1 noise.
fn load(t: i64, peak_tod: i64) -> f64 {
    let mut d = (t - peak_tod).rem_euclid(DAY);
    if d > DAY / 2 {
        d -= DAY;
    }
    let minutes = d as f64 / 60.0;
    10.0 + 90.0 * (-(minutes / 7.0).powi(2) / 2.0).exp() + noise(t)
}

/// Nine days of one-minute points ending at `end`, with the daily peak 15 minutes after `end`.
fn history(end: i64) -> Vec<(i64, f64)> {
    let peak = (end + 900).rem_euclid(DAY);
    (0..=9 * 1440)
        .map(|i| {
            let t = end - 9 * DAY + i * 60;
            (t, load(t, peak))
        })
        .collect()
}

/// The last whole minute before the wall clock's now.
fn recent_end() -> i64 {
    let now = Utc::now().timestamp();
    now.div_euclid(60) * 60 - 60
}

fn start(end: i64, extra_args: &[&str]) -> PrometheusServer {
    let p = PrometheusServer::start_with_backfill(METRIC, &history(end), extra_args);
    // the backfilled blocks must be queryable before anything is asserted: the oldest 10 hours
    // (601 samples, both ends included in 2.42; under the limit of the server with --query.max-samples=1000) and the newest
    let deadline = Instant::now() + Duration::from_secs(60);
    let oldest = format!(
        "count_over_time({METRIC}[10h] @ {})",
        end - 9 * DAY + 10 * 3600
    );
    let newest = format!("count_over_time({METRIC}[10h] @ {end})");
    loop {
        let a = p.instant_query(&oldest);
        let b = p.instant_query(&newest);
        if a.contains("\"601\"") && b.contains("\"601\"") {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "backfilled samples not visible: {a} {b}\n{}",
            p.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn ctx(clock: &ManualClock) -> Context {
    Context {
        clock: Arc::new(clock.clone()),
        default_timeout: Duration::from_secs(10),
        ..Context::default()
    }
}

fn trigger(address: &str, query: &str, extra: &[(&str, &str)]) -> TriggerInput {
    let mut meta = vec![
        ("serverAddress", address),
        ("query", query),
        ("threshold", "10"),
    ];
    meta.extend_from_slice(extra);
    TriggerInput::new("prometheus-forecast", 0, &meta)
}

async fn connect(ctx: &Context, input: TriggerInput) -> Arc<PrometheusForecastScaler> {
    PrometheusForecastDefinition::parse(&input)
        .unwrap()
        .connect_forecast(ctx)
        .await
        .unwrap()
}

#[tokio::test]
async fn forecast_ahead_of_a_daily_peak_and_incremental_refresh() {
    let end = recent_end();
    let p = start(end, &[]);
    let clock = ManualClock::new(Utc.timestamp_opt(end + 5, 0).unwrap());
    let ctx = ctx(&clock);
    let s = connect(
        &ctx,
        trigger(
            &p.address(),
            &format!("max({METRIC})"),
            &[("activationThreshold", "50")],
        ),
    )
    .await;

    let sample = s.sample().await.unwrap();
    let st = s.stats();
    let peak = 100.0;
    let actual = st.last_actual.unwrap();
    assert!(
        (actual - load(end, (end + 900).rem_euclid(DAY))).abs() < 1e-6,
        "{st:?}"
    );
    assert!(actual < 25.0, "15 minutes before the peak: {st:?}");
    // served ahead of the peak: well above the actual value, close to the peak
    assert!(sample.value > 1.5 * actual, "{st:?}");
    assert!((sample.value - peak).abs() / peak < 0.1, "{st:?}");
    assert!(
        sample.active,
        "above activationThreshold 50 thanks to the forecast"
    );
    assert_eq!(st.last_served, Some(sample.value));
    // first read: 7 days + 1 day + 2m30s (up to 3m, on the grid) at 1m = 11,524 points in
    // two range queries (≤ 10,000 points each)
    assert_eq!(
        (st.range_requests, st.points_fetched),
        (2, 11_524),
        "{st:?}"
    );
    assert_eq!(st.points_held, 11_524);
    assert_eq!(st.failed_range_requests, 0);

    // 30 s later: refreshInterval (= step, 1m) not reached, nothing is read
    clock.advance(chrono::Duration::seconds(30));
    s.sample().await.unwrap();
    assert_eq!(s.stats().range_requests, 2);

    // 2 minutes after the first read: one request for the two new grid points
    clock.advance(chrono::Duration::seconds(90));
    let later = s.sample().await.unwrap();
    let st2 = s.stats();
    assert_eq!(st2.range_requests, 3, "{st2:?}");
    let new_points = st2.points_fetched - st.points_fetched;
    assert!((1..=2).contains(&new_points), "{st2:?}");
    // points older than the history window are dropped
    assert!(st2.points_held <= 11_524, "{st2:?}");
    assert!((later.value - peak).abs() / peak < 0.1, "{st2:?}");

    // the same query through the plain `prometheus` trigger sees only the actual value
    let plain = registry::parse(&TriggerInput::new(
        "prometheus",
        0,
        &[
            ("serverAddress", &p.address()),
            ("query", &format!("max({METRIC})")),
            ("threshold", "10"),
        ],
    ))
    .unwrap()
    .connect(&ctx)
    .await
    .unwrap();
    let plain_value = plain.sample().await.unwrap().value;
    assert_eq!(Some(plain_value), st2.last_actual);
    assert!(later.value > 1.5 * plain_value);
}

#[tokio::test]
async fn unreadable_history_serves_the_actual_value() {
    let end = recent_end();
    // the server refuses any query that holds more than 1,000 samples: range reads fail,
    // the instant query does not
    let p = start(end, &["--query.max-samples=1000"]);
    let clock = ManualClock::new(Utc.timestamp_opt(end + 5, 0).unwrap());
    let ctx = ctx(&clock);
    let s = connect(&ctx, trigger(&p.address(), &format!("max({METRIC})"), &[])).await;
    let sample = s.sample().await.unwrap();
    let st = s.stats();
    assert_eq!(Some(sample.value), st.last_actual, "{st:?}");
    assert!(sample.value < 25.0, "{st:?}");
    assert_eq!(st.last_forecast, None);
    assert_eq!(st.failed_range_requests, 1, "{st:?}");
    let why = st.history_error.unwrap();
    assert!(
        why.starts_with("prometheus range query api returned error. status: 422")
            && why.contains("too many samples"),
        "{why}"
    );
}

#[tokio::test]
async fn failures_are_clear_and_never_show_the_password() {
    let mut p = PrometheusServer::start_with(PrometheusOptions {
        basic_auth: Some(("keda".into(), "right-pass".into())),
        ..Default::default()
    });
    let clock = ManualClock::new(Utc::now());
    let ctx = ctx(&clock);
    let with_pass = |query: &str, pass: &str| {
        trigger(&p.address(), query, &[]).with_auth(&[
            ("authModes", "basic"),
            ("username", "keda"),
            ("password", pass),
        ])
    };

    // right password: works; `vector(3)` has a flat history of 3 over the whole range read
    let s = connect(&ctx, with_pass("vector(3)", "right-pass")).await;
    assert_eq!(s.sample().await.unwrap().value, 3.0);
    let st = s.stats();
    assert_eq!(st.history_error, None);
    assert_eq!(st.last_forecast.map(|f| f.value), Some(3.0), "{st:?}");

    // wrong password: the instant query's error, and the history error, without the password
    let s = connect(&ctx, with_pass("vector(3)", "wrong-pass-42")).await;
    let e = s.sample().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "prometheus query api returned error. status: 401"
    );
    let why = s.stats().history_error.unwrap();
    assert_eq!(
        why,
        "prometheus range query api returned error. status: 401"
    );

    // a broken query: Prometheus says why
    let s = connect(&ctx, with_pass("sum(", "right-pass")).await;
    let e = s.sample().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "prometheus query api returned error. status: 400"
    );
    let why = s.stats().history_error.unwrap();
    assert!(
        why.starts_with("prometheus range query api returned error. status: 400: ")
            && why.contains("parse error"),
        "{why}"
    );

    // server down, with credentials in the URL as well
    let port = p.port;
    p.kill();
    let in_url = format!("http://keda:url-secret-7@127.0.0.1:{port}");
    let s = connect(
        &ctx,
        trigger(&in_url, "vector(3)", &[]).with_auth(&[
            ("authModes", "basic"),
            ("username", "keda"),
            ("password", "right-pass"),
        ]),
    )
    .await;
    let e = s.sample().await.unwrap_err();
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    let why = s.stats().history_error.unwrap();
    assert!(why.starts_with("prometheus range query failed: "), "{why}");
    for text in [e.to_string(), format!("{e:?}"), why] {
        for secret in ["right-pass", "url-secret-7"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}

#[tokio::test]
async fn shares_the_prometheus_client() {
    let ctx = Context::default();
    let plain = TriggerInput::new(
        "prometheus",
        0,
        &[
            ("serverAddress", "http://127.0.0.1:1"),
            ("query", "up"),
            ("threshold", "1"),
        ],
    );
    let _a = registry::parse(&plain)
        .unwrap()
        .connect(&ctx)
        .await
        .unwrap();
    let _b = registry::parse(&trigger("http://127.0.0.1:1", "up", &[]))
        .unwrap()
        .connect(&ctx)
        .await
        .unwrap();
    assert_eq!(
        ctx.pools.count::<reqwest::Client>(),
        1,
        "one client for both triggers"
    );
    let _c = registry::parse(&trigger(
        "http://127.0.0.1:1",
        "up",
        &[("unsafeSsl", "true")],
    ))
    .unwrap()
    .connect(&ctx)
    .await
    .unwrap();
    assert_eq!(ctx.pools.count::<reqwest::Client>(), 2);
}
