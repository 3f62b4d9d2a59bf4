//! `cpu`/`memory`: every accepted form and every error, through the registry.

use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricType};
use crate::{Context, registry};

fn trigger(kind: &str, metric_type: &str, meta: &[(&str, &str)]) -> TriggerInput {
    TriggerInput::new(kind, 2, meta).with_metric_type(metric_type)
}

#[test]
fn accepted_forms() {
    // (type, metricType, metadata, container, hpa type, averageUtilization, averageValue, number)
    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        Option<&'a str>,
        &'a str,
        Option<i32>,
        Option<&'a str>,
        f64,
    );
    let cases: Vec<Case> = vec![
        (
            "cpu",
            "Utilization",
            vec![("value", "50")],
            None,
            "Resource",
            Some(50),
            None,
            50.0,
        ),
        (
            "memory",
            "Utilization",
            vec![("value", " 80 ")],
            None,
            "Resource",
            Some(80),
            None,
            80.0,
        ),
        // Go's ParseInt: sign and leading zeros are fine; KEDA does not check the range.
        (
            "cpu",
            "Utilization",
            vec![("value", "+050")],
            None,
            "Resource",
            Some(50),
            None,
            50.0,
        ),
        (
            "cpu",
            "Utilization",
            vec![("value", "-5")],
            None,
            "Resource",
            Some(-5),
            None,
            -5.0,
        ),
        (
            "cpu",
            "AverageValue",
            vec![("value", "500m")],
            None,
            "Resource",
            None,
            Some("500m"),
            0.5,
        ),
        (
            "memory",
            "AverageValue",
            vec![("value", "512Mi")],
            None,
            "Resource",
            None,
            Some("512Mi"),
            536870912.0,
        ),
        // averageValue is written in Kubernetes' canonical form, as the API server stores it.
        (
            "memory",
            "AverageValue",
            vec![("value", "1.5G")],
            None,
            "Resource",
            None,
            Some("1500M"),
            1.5e9,
        ),
        (
            "cpu",
            "AverageValue",
            vec![("value", "1000m")],
            None,
            "Resource",
            None,
            Some("1"),
            1.0,
        ),
        (
            "cpu",
            "AverageValue",
            vec![("value", "0.25")],
            None,
            "Resource",
            None,
            Some("250m"),
            0.25,
        ),
        (
            "memory",
            "AverageValue",
            vec![("value", "2048Mi")],
            None,
            "Resource",
            None,
            Some("2Gi"),
            2147483648.0,
        ),
        (
            "cpu",
            "AverageValue",
            vec![("value", "2")],
            None,
            "Resource",
            None,
            Some("2"),
            2.0,
        ),
        (
            "cpu",
            "AverageValue",
            vec![("value", "1e3")],
            None,
            "Resource",
            None,
            Some("1e3"),
            1000.0,
        ),
        (
            "cpu",
            "Utilization",
            vec![("value", "60"), ("containerName", "app")],
            Some("app"),
            "ContainerResource",
            Some(60),
            None,
            60.0,
        ),
        (
            "memory",
            "AverageValue",
            vec![("value", "1Gi"), ("containerName", " sidecar ")],
            Some("sidecar"),
            "ContainerResource",
            None,
            Some("1Gi"),
            1073741824.0,
        ),
        // An empty containerName is absent.
        (
            "cpu",
            "Utilization",
            vec![("value", "60"), ("containerName", "")],
            None,
            "Resource",
            Some(60),
            None,
            60.0,
        ),
    ];
    for (kind, metric_type, meta, container, hpa_type, utilization, average, number) in cases {
        let def = registry::parse(&trigger(kind, metric_type, &meta))
            .unwrap_or_else(|e| panic!("{kind} {metric_type} {meta:?}: {e}"));
        assert_eq!(def.trigger_type(), kind);
        let spec = def.metric_spec();
        assert_eq!(spec.hpa_type(), hpa_type, "{meta:?}");
        assert_eq!(spec.external_name(), None);
        let MetricSpec::Resource {
            name,
            container: got_container,
            target,
        } = &spec
        else {
            panic!("{kind}: not a Resource metric: {spec:?}");
        };
        assert_eq!(name, kind);
        assert_eq!(got_container.as_deref(), container, "{meta:?}");
        assert_eq!(target.metric_type.as_str(), metric_type);
        assert_eq!(target.average_utilization, utilization, "{meta:?}");
        assert_eq!(target.average_value.as_deref(), average, "{meta:?}");
        assert_eq!(target.value, None);
        assert!(
            (target.number - number).abs() < 1e-6,
            "{meta:?}: {}",
            target.number
        );
    }
}

#[test]
fn errors() {
    let deprecated = |kind: &str| {
        format!(
            "scaler {kind} info: The 'type' setting is DEPRECATED and is removed in v2.18 - \
             Use 'metricType' instead."
        )
    };
    let unknown = |v: &str| {
        format!("unknown metric type: {v}, allowed values are 'Utilization' or 'AverageValue'")
    };
    let format_wrong = "quantities must match the regular expression \
                        '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, String);
    let cases: Vec<Case> = vec![
        (
            "cpu",
            "Utilization",
            vec![],
            "missing required parameter \"value\" in [triggerMetadata]".into(),
        ),
        (
            "memory",
            "AverageValue",
            vec![("value", "  ")],
            "missing required parameter \"value\" in [triggerMetadata]".into(),
        ),
        // The deprecated setting fails even when metricType is fine, and is reported alone.
        (
            "cpu",
            "Utilization",
            vec![("type", "Utilization"), ("value", "50")],
            deprecated("cpu"),
        ),
        (
            "memory",
            "",
            vec![("type", "AverageValue"), ("value", "1Gi")],
            deprecated("memory"),
        ),
        ("cpu", "", vec![("value", "50")], unknown("")),
        ("cpu", "Value", vec![("value", "50")], unknown("Value")),
        (
            "memory",
            "utilization",
            vec![("value", "50")],
            unknown("utilization"),
        ),
        (
            "cpu",
            "Utilization",
            vec![("value", "50.5")],
            "strconv.ParseInt: parsing \"50.5\": invalid syntax".into(),
        ),
        (
            "cpu",
            "Utilization",
            vec![("value", "50%")],
            "strconv.ParseInt: parsing \"50%\": invalid syntax".into(),
        ),
        (
            "memory",
            "Utilization",
            vec![("value", "3000000000")],
            "strconv.ParseInt: parsing \"3000000000\": value out of range".into(),
        ),
        (
            "cpu",
            "AverageValue",
            vec![("value", "fast")],
            format!("unable to parse quantity \"fast\": {format_wrong}"),
        ),
        (
            "memory",
            "AverageValue",
            vec![("value", "1.2.3Gi")],
            format!("unable to parse quantity \"1.2.3Gi\": {format_wrong}"),
        ),
        (
            "memory",
            "AverageValue",
            vec![("value", "512MB")],
            format!("unable to parse quantity \"512MB\": {format_wrong}"),
        ),
        (
            "memory",
            "AverageValue",
            vec![("value", "512mi")],
            "unable to parse quantity \"512mi\": unable to parse quantity's suffix".into(),
        ),
    ];
    for (kind, metric_type, meta, message) in cases {
        let err = match registry::parse(&trigger(kind, metric_type, &meta)) {
            Ok(_) => panic!("{kind} {metric_type} {meta:?}: accepted"),
            Err(e) => e,
        };
        assert_eq!(err.category(), "invalid_metadata");
        assert_eq!(
            err.to_string(),
            format!("error parsing {kind} metadata: {message}"),
            "{kind} {metric_type} {meta:?}"
        );
    }
}

#[tokio::test]
async fn sample_is_active_with_value_zero() {
    for kind in ["cpu", "memory"] {
        let def = registry::parse(&trigger(kind, "Utilization", &[("value", "50")])).unwrap();
        let scaler = def.connect(&Context::default()).await.unwrap();
        assert_eq!(scaler.metric_spec(), &def.metric_spec());
        assert_eq!(
            scaler.metric_spec().target().metric_type,
            MetricType::Utilization
        );
        let s = scaler.sample().await.unwrap();
        assert!(s.active, "{kind}");
        assert_eq!(s.value, 0.0, "{kind}");
    }
}
