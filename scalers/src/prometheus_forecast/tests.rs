use super::*;
use crate::registry;

fn input(extra: &[(&str, &str)]) -> TriggerInput {
    let mut meta = vec![
        ("serverAddress", "http://prom:9090"),
        ("query", "sum(rate(http_requests_total[1m]))"),
        ("threshold", "100"),
    ];
    meta.extend_from_slice(extra);
    TriggerInput::new("prometheus-forecast", 2, &meta)
}

fn error_of(extra: &[(&str, &str)]) -> String {
    PrometheusForecastDefinition::parse(&input(extra))
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults_metric_name_and_target() {
    let d = registry::parse(&input(&[])).unwrap();
    assert_eq!(d.trigger_type(), "prometheus-forecast");
    let spec = d.metric_spec();
    assert_eq!(spec.external_name(), Some("s2-prometheus-forecast"));
    assert_eq!(spec.target().average_value.as_deref(), Some("100"));
    let d = PrometheusForecastDefinition::parse(&input(&[])).unwrap();
    assert_eq!(
        d.settings,
        ForecastSettings {
            history: Duration::from_secs(7 * 86_400),
            step: Duration::from_secs(60),
            horizon: Duration::from_secs(900),
            quantile: 0.9,
            seasonality: Seasonality {
                daily: true,
                weekly: true
            },
            refresh_interval: Duration::from_secs(60),
        }
    );
    let m = d.settings.model();
    assert_eq!((m.max_days, m.max_weeks, m.half_window), (7, 1, 150));
}

#[test]
fn settings_are_parsed() {
    let mut t = input(&[
        ("history", "14d12h"),
        ("step", "30s"),
        ("horizon", "1h30m"),
        ("quantile", "1"),
        ("seasonality", "weekly"),
        ("refreshInterval", "5m"),
    ]);
    t.metric_type = "Value".into();
    let d = PrometheusForecastDefinition::parse(&t).unwrap();
    assert_eq!(
        d.settings.history,
        Duration::from_secs(14 * 86_400 + 12 * 3600)
    );
    assert_eq!(d.settings.step, Duration::from_secs(30));
    assert_eq!(d.settings.horizon, Duration::from_secs(5400));
    assert_eq!(d.settings.quantile, 1.0);
    assert!(!d.settings.seasonality.daily && d.settings.seasonality.weekly);
    assert_eq!(d.settings.refresh_interval, Duration::from_secs(300));
    assert_eq!(d.metric_spec().target().value.as_deref(), Some("100"));
    // refreshInterval follows step by default
    let d = PrometheusForecastDefinition::parse(&input(&[("step", "5m")])).unwrap();
    assert_eq!(d.settings.refresh_interval, Duration::from_secs(300));
}

#[test]
fn spans_accept_days() {
    assert_eq!(parse_span("7d"), Ok(Duration::from_secs(7 * 86_400)));
    assert_eq!(parse_span("1d2h"), Ok(Duration::from_secs(93_600)));
    assert_eq!(parse_span("36h"), Ok(Duration::from_secs(129_600)));
    assert!(parse_span("1.5d").is_err());
    assert!(parse_span("d").is_err());
    assert!(parse_span("7dx").is_err());
    assert!(parse_span("-1d").is_err());
}

#[test]
fn precise_errors_name_the_field() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("history", "12h")],
            "history must be at least 1d, got 43200s",
        ),
        (&[("history", "week")], "history \"week\": "),
        (&[("step", "5s")], "step must be between 10s and 1h, got 5s"),
        (
            &[("step", "2h")],
            "step must be between 10s and 1h, got 7200s",
        ),
        (&[("step", "10.5s")], "step must be whole seconds"),
        (
            &[("history", "60d"), ("step", "1m")],
            "history / step must not exceed 50000 points, got 86400",
        ),
        (
            &[("horizon", "13h")],
            "horizon must be at most 12h, got 46800s",
        ),
        (&[("quantile", "0")], "quantile must be in (0, 1], got 0"),
        (
            &[("quantile", "1.5")],
            "quantile must be in (0, 1], got 1.5",
        ),
        (
            &[("seasonality", "hourly")],
            "parameter \"seasonality\" value \"hourly\" must be one of [daily weekly]",
        ),
        (
            &[("seasonality", "weekly"), ("history", "3d")],
            "seasonality \"weekly\" alone needs a history of at least 7d",
        ),
        (
            &[("refreshInterval", "30s")],
            "refreshInterval must be at least step (60s), got 30s",
        ),
    ];
    for (extra, want) in cases {
        let e = error_of(extra);
        assert!(
            e.starts_with("error parsing prometheus-forecast metadata: "),
            "{e}"
        );
        assert!(e.contains(want), "{extra:?}: {e}");
    }
}

#[test]
fn prometheus_errors_come_first_and_secrets_stay_out() {
    let t = TriggerInput::new(
        "prometheus-forecast",
        0,
        &[("query", "up"), ("step", "1s"), ("authModes", "basic")],
    )
    .with_auth(&[("password", "hunter2")]);
    let e = PrometheusForecastDefinition::parse(&t)
        .unwrap_err()
        .to_string();
    let lines: Vec<&str> = e.lines().collect();
    assert!(
        lines[0].starts_with("error parsing prometheus-forecast metadata: missing required parameter \"serverAddress\""),
        "{e}"
    );
    assert!(
        e.contains("username=<empty> is required when basic auth is enabled"),
        "{e}"
    );
    assert!(e.contains("step must be between 10s and 1h"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn range_urls_follow_the_prometheus_rules() {
    let d = PrometheusForecastDefinition::parse(&input(&[
        ("namespace", "team-a"),
        ("queryParameters", "dedup=true"),
    ]))
    .unwrap();
    assert_eq!(
        fetch::range_url(&d.meta, 1000, 2000, 60),
        "http://prom:9090/api/v1/query_range?query=sum%28rate%28http_requests_total%5B1m%5D%29%29&start=1000&end=2000&step=60s&namespace=team-a&dedup=true"
    );
}

#[test]
fn range_answers() {
    let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1000,"1.5"],[1060,"NaN"],[1120,"2"]]}]}}"#;
    let p = fetch::points_of(200, ok, "q").unwrap();
    assert_eq!((p[0], p[2]), ((1000, 1.5), (1120, 2.0)));
    assert!(p[1].1.is_nan());
    let empty = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
    assert!(fetch::points_of(200, empty, "q").unwrap().is_empty());
    let two = br#"{"data":{"result":[{"values":[]},{"values":[]}]}}"#;
    assert_eq!(
        fetch::points_of(200, two, "q").unwrap_err().to_string(),
        "prometheus range query q returned multiple series"
    );
    let bad = br#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}"#;
    assert_eq!(
        fetch::points_of(400, bad, "q").unwrap_err().to_string(),
        "prometheus range query api returned error. status: 400: exceeded maximum resolution of 11,000 points per timeseries"
    );
    assert_eq!(
        fetch::points_of(401, b"Unauthorized", "q")
            .unwrap_err()
            .to_string(),
        "prometheus range query api returned error. status: 401"
    );
}
