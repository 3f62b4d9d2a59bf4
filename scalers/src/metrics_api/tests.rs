//! Parsing and value extraction, with KEDA's own test vectors
//! (`pkg/scalers/metrics_api_scaler_test.go`).

use super::*;
use crate::input::TriggerInput;

const URL: &str = "http://dummy:1230/api/v1/";

fn meta(pairs: &[(&str, &str)]) -> TriggerInput {
    TriggerInput::new("metrics-api", 1, pairs)
}

fn ok(pairs: &[(&str, &str)], auth: &[(&str, &str)]) -> bool {
    MetricsApiDefinition::parse(&meta(pairs).with_auth(auth)).is_ok()
}

#[test]
fn keda_metadata_vectors() {
    let base = [
        ("url", URL),
        ("valueLocation", "metric"),
        ("targetValue", "42"),
    ];
    assert!(!ok(&[], &[]), "no metadata");
    assert!(ok(
        &[
            ("url", URL),
            ("valueLocation", "metric.test"),
            ("targetValue", "42")
        ],
        &[]
    ));
    assert!(!ok(
        &[
            ("url", URL),
            ("valueLocation", "metric"),
            ("targetValue", "aa")
        ],
        &[]
    ));
    let mut act = base.to_vec();
    act.push(("activationTargetValue", "aa"));
    assert!(!ok(&act, &[]), "activation target not a number");
    assert!(
        !ok(&[("url", URL), ("targetValue", "aa")], &[]),
        "no valueLocation"
    );
    assert!(
        !ok(&[("valueLocation", "metric"), ("targetValue", "aa")], &[]),
        "no url"
    );
    let err = MetricsApiDefinition::parse(&meta(&[("url", URL), ("valueLocation", "metric")]))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("no targetValue given in metadata"), "{err}");
    for (unsafe_ssl, good) in [("true", true), ("false", true), ("yes", false)] {
        let mut m = base.to_vec();
        m.push(("unsafeSsl", unsafe_ssl));
        assert_eq!(ok(&m, &[]), good, "unsafeSsl {unsafe_ssl}");
    }
    let mut f = base.to_vec();
    f.push(("format", "csv"));
    let err = MetricsApiDefinition::parse(&meta(&f))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("must be one of [prometheus json xml yaml]"),
        "{err}"
    );
}

#[test]
fn keda_auth_vectors() {
    fn with(mode: &str) -> Vec<(&str, &str)> {
        vec![
            ("url", URL),
            ("valueLocation", "metric"),
            ("targetValue", "42"),
            ("authMode", mode),
        ]
    }
    let tls = with("tls");
    assert!(ok(
        &tls,
        &[("ca", "caaa"), ("cert", "ceert"), ("key", "keey")]
    ));
    assert!(!ok(&tls, &[("ca", "caaa"), ("cert", "ceert")]), "no key");
    assert!(!ok(&tls, &[("ca", "caaa"), ("key", "keey")]), "no cert");
    let api = with("apiKey");
    assert!(ok(&api, &[("apiKey", "apiikey")]));
    assert!(ok(&api, &[("apiKey", "apiikey"), ("method", "query")]));
    assert!(ok(
        &api,
        &[
            ("apiKey", "k"),
            ("method", "header"),
            ("keyParamName", "custom")
        ]
    ));
    assert!(ok(
        &api,
        &[
            ("apiKey", "k"),
            ("method", "query"),
            ("keyParamName", "custom")
        ]
    ));
    assert!(!ok(&api, &[]), "apiKey mode without a key");
    assert!(
        !ok(&api, &[("apiKey", "k"), ("method", "cookie")]),
        "method enum"
    );
    let basic = with("basic");
    assert!(ok(&basic, &[("username", "user"), ("password", "pass")]));
    assert!(!ok(&basic, &[]));
    let bearer = with("bearer");
    assert!(ok(&bearer, &[("token", "bearerTokenValue")]));
    assert!(!ok(&bearer, &[]));
    assert!(ok(
        &with("apiKey,tls"),
        &[
            ("apiKey", "apiikey"),
            ("ca", "caaa"),
            ("cert", "ceert"),
            ("key", "keey")
        ]
    ));
    assert!(!ok(
        &with("basic,bearer"),
        &[("username", "u"), ("token", "t")]
    ));
    // secrets from authParams never appear in a parse error
    let err = MetricsApiDefinition::parse(
        &meta(&with("bearer")).with_auth(&[("bearerToken", "s3cr3t"), ("method", "s3cr3t2")]),
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn metric_name_and_target_follow_keda() {
    let d = MetricsApiDefinition::parse(&meta(&[
        ("url", URL),
        ("valueLocation", "metric.test"),
        ("targetValue", "42"),
    ]))
    .unwrap();
    assert_eq!(
        d.metric_spec().external_name(),
        Some("s1-metric-api-metric-test")
    );
    assert_eq!(
        d.metric_spec().target().average_value.as_deref(),
        Some("42")
    );
    assert!(d.is_active(0.5) && !d.is_active(0.0));
}

fn value(format: &str, location: &str, body: &str) -> std::result::Result<f64, String> {
    let d = MetricsApiDefinition::parse(&meta(&[
        ("url", URL),
        ("valueLocation", location),
        ("targetValue", "1"),
        ("format", format),
    ]))
    .map_err(|e| e.to_string())?;
    value_of(&d.meta, body.as_bytes())
}

const JSON: &str = r#"{"components":[{"id": "82328e93e", "tasks": 32, "str": "64", "k":"1k","wrong":"NaN"}],"count":2.43,"a.b":{"c":7},"flag":true}"#;
const YAML: &str =
    "{components: [{id: 82328e93e, tasks: 32, str: '64', k: 1k, wrong: NaN}], count: 2.43}";
const PROM: &str = "# HELP backend_queue_size Total number of items
\t# TYPE backend_queue_size counter
\tbackend_queue_size{queueName=\"zero\"} 0
\tbackend_queue_size{queueName=\"one\"} 1
\tbackend_queue_size{queueName=\"two\", instance=\"random\"} 2
\tbackend_queue_size{queueName=\"two\", instance=\"zero\"} 20
\t# HELP random_metric Random metric generate to include noise
\t# TYPE random_metric counter
\trandom_metric 10";

#[test]
fn keda_value_vectors() {
    assert_eq!(value("json", "count", JSON), Ok(2.43));
    assert_eq!(value("json", "components.0.str", JSON), Ok(64.0));
    assert_eq!(value("json", "components.0.tasks", JSON), Ok(32.0));
    assert_eq!(value("json", "components.0.k", JSON), Ok(1000.0));
    assert!(value("json", "components.0.wrong", JSON).is_err());
    assert_eq!(value("yaml", "count", YAML), Ok(2.43));
    assert_eq!(value("yaml", "components.0.str", YAML), Ok(64.0));
    assert_eq!(value("yaml", "components.0.tasks", YAML), Ok(32.0));
    assert!(value("yaml", "components.0.wrong", YAML).is_err());
    assert_eq!(value("prometheus", "random_metric", PROM), Ok(10.0));
    assert_eq!(
        value("prometheus", "backend_queue_size{queueName=\"one\"}", PROM),
        Ok(1.0)
    );
    assert_eq!(
        value("prometheus", "backend_queue_size{queueName=\"two\"}", PROM),
        Ok(2.0)
    );
    assert_eq!(
        value(
            "prometheus",
            "backend_queue_size{queueName=\"two\", instance=\"zero\"}",
            PROM
        ),
        Ok(20.0)
    );
    assert!(value("prometheus", "backend_queue_size{invalid=test}", PROM).is_err());
}

#[test]
fn json_paths() {
    assert_eq!(value("json", r"a\.b.c", JSON), Ok(7.0));
    assert_eq!(value("json", "components.#", JSON), Ok(1.0));
    assert_eq!(value("json", "comp*.0.ta?ks", JSON), Ok(32.0));
    let err = value("json", "missing", JSON).unwrap_err();
    assert_eq!(
        err,
        "valueLocation must point to value of type number or a string representing a Quantity got: 'Null'"
    );
    assert!(value("json", "flag", JSON).unwrap_err().ends_with("'True'"));
    assert!(
        value("json", "components", JSON)
            .unwrap_err()
            .ends_with("'JSON'")
    );
    assert!(
        value("json", "components.0.id", JSON)
            .unwrap_err()
            .ends_with("'82328e93e'")
    );
    assert!(
        value("json", "count", "{not json")
            .unwrap_err()
            .contains("not valid JSON")
    );
    for bad in ["a|b", "a.@reverse", "a.#(b>1)", "a..b", "#.a"] {
        let err = value("json", bad, JSON).unwrap_err();
        assert!(err.contains("valueLocation"), "{bad}: {err}");
    }
}

#[test]
fn xml_paths() {
    let xml = r#"<stats version="3"><queue><item><depth>4</depth></item><item><depth>9</depth></item></queue><load unit="m">250m</load><nested><x>1</x></nested></stats>"#;
    assert_eq!(value("xml", "queue.item.depth", xml), Ok(4.0));
    assert_eq!(value("xml", "queue.item.1.depth", xml), Ok(9.0));
    assert_eq!(value("xml", "stats.queue.item.1.depth", xml), Ok(9.0));
    assert_eq!(value("xml", "load", xml), Ok(0.25));
    assert_eq!(value("xml", "@version", xml), Ok(3.0));
    assert!(
        value("xml", "queue.item.5.depth", xml)
            .unwrap_err()
            .contains("index '5'")
    );
    assert!(
        value("xml", "queue.nope", xml)
            .unwrap_err()
            .contains("element 'nope' not found")
    );
    assert!(
        value("xml", "nested", xml)
            .unwrap_err()
            .contains("child elements")
    );
    assert!(
        value("xml", "load", "<stats>")
            .unwrap_err()
            .contains("not valid XML")
    );
}

#[test]
fn exposition_choices_and_errors() {
    let page = "# TYPE req_seconds histogram
req_seconds_bucket{path=\"/a\",le=\"0.5\"} 3
req_seconds_bucket{path=\"/a\",le=\"+Inf\"} 5
req_seconds_sum{path=\"/a\"} 1.5
req_seconds_count{path=\"/a\"} 5
# TYPE rpc summary
rpc{quantile=\"0.99\"} 0.2
rpc_sum 8
rpc_count 40
up 1
";
    assert_eq!(
        value("prometheus", "req_seconds_bucket{le=\"0.5\"}", page),
        Ok(3.0)
    );
    assert_eq!(
        value(
            "prometheus",
            "req_seconds_bucket{path='/a',le=\"+Inf\"}",
            page
        ),
        Ok(5.0)
    );
    assert_eq!(value("prometheus", "req_seconds_count", page), Ok(5.0));
    assert_eq!(value("prometheus", "rpc{quantile=\"0.99\"}", page), Ok(0.2));
    assert_eq!(value("prometheus", "rpc_count", page), Ok(40.0));
    assert_eq!(value("prometheus", "{__name__=\"up\"}", page), Ok(1.0));
    let err = value("prometheus", "req_seconds", page).unwrap_err();
    assert!(err.contains("is a histogram: choose one sample"), "{err}");
    let err = value("prometheus", "rpc", page).unwrap_err();
    assert!(err.contains("is a summary"), "{err}");
    let err = value("prometheus", "req_seconds_bucket", page).unwrap_err();
    assert!(err.contains("choose a bucket"), "{err}");
    assert_eq!(
        value("prometheus", "nope", page).unwrap_err(),
        "metric 'nope' not found"
    );
    assert!(
        value("prometheus", "up{job=\"x\"}", page)
            .unwrap_err()
            .contains("value up{job=\"x\"} not found")
    );
    let err = value("prometheus", "up", "up 1\n<html>oops</html>\n").unwrap_err();
    assert!(err.contains("line 2 is not a sample"), "{err}");
    assert!(
        value("prometheus", "up", "up one\n")
            .unwrap_err()
            .contains("line 1")
    );
    for bad in [
        "up{job=~\"x\"}",
        "up{job!=\"x\"}",
        "up{job=x}",
        "up{",
        "{}",
        "up}",
    ] {
        let err = value("prometheus", bad, page).unwrap_err();
        assert!(err.contains("valueLocation"), "{bad}: {err}");
    }
}

#[test]
fn recording_rule_names_on_a_page() {
    // a valid page with a recording-rule name (and a `}` inside a label value) is read
    assert_eq!(
        value("prometheus", "up", "job:rate5m{a=\"}\"} 3\nup 1\n"),
        Ok(1.0)
    );
    // such a name cannot be chosen: the parser does not read it
    let err = value("prometheus", "job:rate5m", "up 1\n").unwrap_err();
    assert!(err.contains("':'"), "{err}");
}

#[test]
fn debug_hides_credentials() {
    let d = MetricsApiDefinition::parse(
        &meta(&[
            (
                "url",
                "https://user:pw-5ecret@api.example:8443/stats?token=q-5ecret",
            ),
            ("valueLocation", "v"),
            ("targetValue", "1"),
            ("authMode", "bearer,apiKey"),
        ])
        .with_auth(&[("token", "b-5ecret"), ("apiKey", "k-5ecret")]),
    )
    .unwrap();
    let text = format!("{d:?}");
    assert!(text.contains("https://api.example:8443/stats"), "{text}");
    assert!(!text.contains("5ecret"), "{text}");
}
