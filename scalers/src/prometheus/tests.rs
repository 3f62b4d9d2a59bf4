//! Parsing of `prometheus` triggers and the request URL.

use super::config::PrometheusMetadata;
use super::{PrometheusDefinition, query_url};
use crate::TriggerDefinition;
use crate::input::TriggerInput;
use chrono::TimeZone;

const BASE: &[(&str, &str)] = &[
    ("serverAddress", "http://prom:9090/"),
    ("query", "sum(rate(x[1m]))"),
    ("threshold", "20"),
];

fn parse(extra: &[(&str, &str)], auth: &[(&str, &str)]) -> Result<PrometheusMetadata, String> {
    let mut meta = BASE.to_vec();
    meta.extend_from_slice(extra);
    PrometheusMetadata::parse(&TriggerInput::new("prometheus", 0, &meta).with_auth(auth))
        .map_err(|e| e.to_string())
}

#[test]
fn defaults_metric_and_url() {
    let m = parse(&[], &[]).unwrap();
    assert!(m.ignore_null_values && !m.unsafe_ssl);
    assert_eq!(
        (m.threshold, m.activation_threshold, m.timeout),
        (20.0, 0.0, None)
    );
    let d = PrometheusDefinition::parse(&TriggerInput::new("prometheus", 3, BASE)).unwrap();
    assert_eq!(d.metric_spec().external_name(), Some("s3-prometheus"));
    assert_eq!(
        d.metric_spec().target().average_value.as_deref(),
        Some("20")
    );
    let m = parse(
        &[
            ("namespace", "team-a"),
            ("queryParameters", "dedup=true, partial_response=false"),
            ("metricName", "legacy"),
        ],
        &[],
    )
    .unwrap();
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 19, 0, 0)
        .unwrap();
    assert_eq!(
        query_url(&m, now),
        "http://prom:9090/api/v1/query?query=sum%28rate%28x%5B1m%5D%29%29&time=2026-11-22T19%3A00%3A00Z&namespace=team-a&dedup=true&partial_response=false"
    );
}

#[test]
fn parameters() {
    let m = parse(
        &[
            ("activationThreshold", "2.5"),
            ("ignoreNullValues", "false"),
            ("unsafeSsl", "true"),
            ("timeout", "1500"),
            ("customHeaders", "X-Org=a,X-Team=b"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(m.activation_threshold, 2.5);
    assert!(!m.ignore_null_values && m.unsafe_ssl);
    assert_eq!(m.timeout, Some(std::time::Duration::from_millis(1500)));
    assert_eq!(m.custom_headers.len(), 2);
    assert_eq!(
        parse(&[("timeout", "2s")], &[]).unwrap().timeout,
        Some(std::time::Duration::from_secs(2))
    );
    let m = parse(
        &[("authModes", "basic")],
        &[("username", "u"), ("password", "p")],
    )
    .unwrap();
    assert_eq!(m.auth.basic, Some(("u".into(), "p".into())));
    let m = parse(&[], &[("authModes", "bearer"), ("token", "tok")]).unwrap();
    assert_eq!(
        m.auth.bearer_token.as_deref(),
        Some("tok"),
        "authModes from authParams, token alias"
    );
    // credentials without authModes are not used
    let m = parse(&[], &[("bearerToken", "tok"), ("ca", "PEM")]).unwrap();
    assert!(m.auth.bearer_token.is_none() && m.auth.ca.is_none());
    let m = parse(
        &[("authModes", "tls,custom")],
        &[
            ("cert", "C"),
            ("key", "K"),
            ("ca", "CA"),
            ("customAuthHeader", "X-Key"),
            ("customAuthValue", "v"),
        ],
    )
    .unwrap();
    assert_eq!(m.auth.client_cert, Some(("C".into(), "K".into())));
    assert_eq!(m.auth.custom, Some(("X-Key".into(), "v".into())));
    assert_eq!(m.auth.ca.as_deref(), Some("CA"));
}

#[test]
fn errors() {
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Pairs, Pairs, &str)] = &[
        (
            &[("authModes", "basic")],
            &[],
            "username=<empty> is required when basic auth is enabled",
        ),
        (
            &[("authModes", "bearer")],
            &[],
            "bearer token=<empty> is required when bearer auth is enabled",
        ),
        (
            &[("authModes", "tls")],
            &[("cert", "C")],
            "cert=<present> and key= are required when tls auth is enabled",
        ),
        (
            &[("authModes", "custom")],
            &[("customAuthHeader", "X")],
            "customAuthHeader=X and customAuthValue= are required when custom auth is enabled",
        ),
        (
            &[("authModes", "oauth")],
            &[],
            "oauthTokenURI= and clientID= are required when oauth is enabled",
        ),
        (
            &[("authModes", "apiKey")],
            &[],
            "apiKey is required when apiKey auth is enabled",
        ),
        (
            &[("authModes", "basic,bearer")],
            &[("username", "u"), ("bearerToken", "t")],
            "must contain only one of [bearer basic oauth]",
        ),
        (
            &[("authModes", "kerberos")],
            &[],
            "parameter \"authModes\" value \"kerberos\" must be one of [apiKey basic tls bearer custom oauth]",
        ),
        (
            &[("method", "cookie")],
            &[],
            "parameter \"method\" value \"cookie\" must be one of [header query]",
        ),
        (
            &[("ignoreNullValues", "maybe")],
            &[],
            "unable to set param \"ignoreNullValues\"",
        ),
        (&[("timeout", "-1")], &[], "unable to set param \"timeout\""),
        (
            &[("queryParameters", "a=b=c")],
            &[],
            "unable to set param \"queryParameters\"",
        ),
    ];
    for (meta, auth, want) in cases {
        let e = parse(meta, auth).unwrap_err();
        assert!(e.starts_with("error parsing prometheus metadata: "), "{e}");
        assert!(e.contains(want), "{meta:?}: {e}");
    }
    let e = PrometheusMetadata::parse(&TriggerInput::new("prometheus", 0, &[]))
        .unwrap_err()
        .to_string();
    for p in ["serverAddress", "query", "threshold"] {
        assert!(
            e.contains(&format!(
                "missing required parameter \"{p}\" in [triggerMetadata]"
            )),
            "{e}"
        );
    }
    let mut with_identity = TriggerInput::new("prometheus", 0, BASE)
        .with_auth(&[("authModes", "bearer"), ("bearerToken", "t")]);
    with_identity.pod_identity_provider = Some("azure-workload".into());
    let e = PrometheusMetadata::parse(&with_identity)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pod identity cannot be enabled with other auth types"),
        "{e}"
    );
    // secrets never in errors or Debug
    let e = parse(
        &[("authModes", "tls")],
        &[("key", "-----BEGIN PRIVATE KEY----- sekrit")],
    )
    .unwrap_err();
    assert!(!e.contains("sekrit"), "{e}");
    let m = parse(&[("authModes", "bearer")], &[("bearerToken", "tok-sekrit")]).unwrap();
    assert!(!format!("{m:?}").contains("tok-sekrit"));
}
