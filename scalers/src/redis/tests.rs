//! Parsing of the Redis triggers: every parameter, source order, default and error.

use super::RedisDefinition;
use super::config::{Mode, RedisMetadata};
use crate::TriggerDefinition;
use crate::input::TriggerInput;

fn parse(
    t: &str,
    meta: &[(&str, &str)],
    auth: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Result<RedisMetadata, String> {
    RedisMetadata::parse(&TriggerInput::new(t, 0, meta).with_auth(auth).with_env(env))
        .map_err(|e| e.to_string())
}

#[test]
fn defaults_and_metric() {
    let m = parse(
        "redis",
        &[("address", "r:6379"), ("listName", "jobs:high")],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(
        (m.list_length, m.activation_list_length, m.database_index),
        (5, 0, 0)
    );
    assert_eq!(m.addresses, ["r:6379"]);
    assert!(!m.tls.enabled);
    let d = RedisDefinition::parse(&TriggerInput::new(
        "redis",
        2,
        &[
            ("address", "r:6379"),
            ("listName", "jobs:high"),
            ("listLength", "1000"),
        ],
    ))
    .unwrap();
    let spec = d.metric_spec();
    assert_eq!(spec.external_name(), Some("s2-redis-jobs-high"));
    assert_eq!(spec.target().average_value.as_deref(), Some("1k"));
    let v = RedisDefinition::parse(
        &TriggerInput::new("redis", 0, &[("address", "r:1"), ("listName", "q")])
            .with_metric_type("Value"),
    )
    .unwrap();
    assert_eq!(v.metric_spec().target().value.as_deref(), Some("5"));
}

#[test]
fn keda_e2e_host_and_port_from_env() {
    let m = parse(
        "redis",
        &[
            ("hostFromEnv", "REDIS_HOST"),
            ("portFromEnv", "REDIS_PORT"),
            ("listName", "queue"),
            ("listLength", "5"),
            ("activationListLength", "10"),
        ],
        &[("password", "admin")],
        &[("REDIS_HOST", "redis.ns"), ("REDIS_PORT", "6379")],
    )
    .unwrap();
    assert_eq!(m.addresses, ["redis.ns:6379"]);
    assert_eq!(m.password, "admin");
    assert_eq!(m.activation_list_length, 10);
    let m = parse(
        "redis-cluster",
        &[("addressesFromEnv", "ADDRS"), ("listName", "q")],
        &[],
        &[("ADDRS", "a:1, b:2,c:3")],
    )
    .unwrap();
    assert_eq!((m.mode, m.addresses.len()), (Mode::Cluster, 3));
    assert_eq!(m.addresses[1], "b:2");
}

#[test]
fn source_orders() {
    // password: metadata → env → auth
    let m = parse(
        "redis",
        &[
            ("address", "a:1"),
            ("listName", "q"),
            ("password", "meta"),
            ("passwordFromEnv", "P"),
        ],
        &[("password", "auth")],
        &[("P", "env")],
    )
    .unwrap();
    assert_eq!(m.password, "meta");
    let m = parse(
        "redis",
        &[
            ("address", "a:1"),
            ("listName", "q"),
            ("passwordFromEnv", "P"),
        ],
        &[("password", "auth")],
        &[("P", "env")],
    )
    .unwrap();
    assert_eq!(m.password, "env");
    // address: metadata → auth → env
    let m = parse(
        "redis",
        &[("addressFromEnv", "A"), ("listName", "q")],
        &[("address", "auth:1")],
        &[("A", "env:1")],
    )
    .unwrap();
    assert_eq!(m.addresses, ["auth:1"]);
    // host/port: metadata → env → auth
    let m = parse(
        "redis",
        &[("hostFromEnv", "H"), ("listName", "q")],
        &[("host", "authhost"), ("port", "7")],
        &[("H", "envhost")],
    )
    .unwrap();
    assert_eq!(m.addresses, ["envhost:7"]);
    // sentinel credentials: metadata → auth → env
    let m = parse(
        "redis-sentinel",
        &[
            ("address", "s:26379"),
            ("listName", "q"),
            ("sentinelMasterFromEnv", "M"),
        ],
        &[("sentinelMaster", "authmaster"), ("sentinelPassword", "sp")],
        &[("M", "envmaster")],
    )
    .unwrap();
    assert_eq!(
        (m.sentinel_master.as_str(), m.sentinel_password.as_str()),
        ("authmaster", "sp")
    );
}

#[test]
fn hosts_ports_and_ipv6() {
    let m = parse(
        "redis-cluster",
        &[("hosts", "a,b,::1"), ("ports", "1,2,3"), ("listName", "q")],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(m.addresses, ["a:1", "b:2", "[::1]:3"]);
    // hosts without ports are ignored → no address
    let e = parse("redis", &[("hosts", "a"), ("listName", "q")], &[], &[]).unwrap_err();
    assert!(e.contains("no addresses or hosts given"), "{e}");
    let e = parse(
        "redis",
        &[("hosts", "a,b"), ("ports", "1"), ("listName", "q")],
        &[],
        &[],
    )
    .unwrap_err();
    assert!(e.contains("not enough hosts or ports given. number of hosts should be equal to the number of ports"), "{e}");
}

#[test]
fn errors() {
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Pairs, Pairs, &str)] = &[
        (
            &[("address", "a:1")],
            &[],
            "missing required parameter \"listName\" in [triggerMetadata]",
        ),
        (
            &[("listName", "q")],
            &[],
            "no addresses or hosts given. address should be a comma separated list of host:port or set the host/port values",
        ),
        (
            &[
                ("address", "a:1"),
                ("listName", "q"),
                ("listLength", "five"),
            ],
            &[],
            "unable to set param \"listLength\" value \"five\"",
        ),
        (
            &[
                ("address", "a:1"),
                ("listName", "q"),
                ("activationListLength", "1.5"),
            ],
            &[],
            "unable to set param \"activationListLength\"",
        ),
        (
            &[
                ("address", "a:1"),
                ("listName", "q"),
                ("databaseIndex", "x"),
            ],
            &[],
            "unable to set param \"databaseIndex\"",
        ),
        (
            &[("address", "a:1"), ("listName", "q"), ("enableTLS", "yes")],
            &[],
            "EnableTLS parsing error",
        ),
        (
            &[("address", "a:1"), ("listName", "q")],
            &[("tls", "maybe")],
            "error incorrect TLS value given, got maybe",
        ),
        (
            &[("address", "a:1"), ("listName", "q"), ("enableTLS", "true")],
            &[("tls", "enable")],
            "unable to set `tls` in both ScaledObject and TriggerAuthentication together",
        ),
        (
            &[("address", "a:1"), ("listName", "q"), ("unsafeSsl", "sure")],
            &[],
            "unable to set param \"unsafeSsl\"",
        ),
    ];
    for (meta, auth, want) in cases {
        let e = parse("redis", meta, auth, &[]).unwrap_err();
        assert!(e.starts_with("error parsing redis metadata: "), "{e}");
        assert!(e.contains(want), "{meta:?}: {e}");
    }
    let e = RedisDefinition::parse(
        &TriggerInput::new("redis", 0, &[("address", "a:1"), ("listName", "q")])
            .with_metric_type("Utilization"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("'Utilization' metric type is unsupported"),
        "{e}"
    );
}

#[test]
fn tls_settings() {
    let m = parse(
        "redis",
        &[
            ("address", "a:1"),
            ("listName", "q"),
            ("enableTLS", "true"),
            ("unsafeSsl", "true"),
        ],
        &[],
        &[],
    )
    .unwrap();
    assert!(m.tls.enabled && m.tls.unsafe_ssl);
    let m = parse(
        "redis",
        &[("address", "a:1"), ("listName", "q")],
        &[
            ("tls", "enable"),
            ("ca", "PEM"),
            ("Cert", "C"),
            ("key", "K"),
        ],
        &[],
    )
    .unwrap();
    assert!(m.tls.enabled);
    assert_eq!(
        (m.tls.ca.as_str(), m.tls.cert.as_str(), m.tls.key.as_str()),
        ("PEM", "C", "K")
    );
    let m = parse(
        "redis",
        &[("address", "a:1"), ("listName", "q")],
        &[("tls", "disable")],
        &[],
    )
    .unwrap();
    assert!(!m.tls.enabled);
}

#[test]
fn debug_hides_credentials() {
    let m = parse(
        "redis",
        &[("address", "a:1"), ("listName", "q")],
        &[("password", "s3cr3t-pw"), ("username", "bob")],
        &[],
    )
    .unwrap();
    let d = format!("{m:?}");
    assert!(!d.contains("s3cr3t-pw") && !d.contains("bob"), "{d}");
}

#[test]
fn a_bad_address_is_shown_from_metadata_and_redacted_from_a_secret() {
    let err = parse(
        "redis",
        &[("address", "cache"), ("listName", "q")],
        &[],
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("unable to set param \"address\" value \"cache\": \"cache\" is not host:port"),
        "{err}"
    );
    let secret = "s3cr3t-host-marker";
    let err = parse("redis", &[("listName", "q")], &[("address", secret)], &[]).unwrap_err();
    assert!(
        err.contains("unable to set param \"address\" value \"<redacted>\""),
        "{err}"
    );
    assert!(!err.contains(secret), "{err}");
    // several addresses, one bad
    let err = parse(
        "redis-cluster",
        &[("addresses", "a:1, b"), ("listName", "q")],
        &[],
        &[],
    )
    .unwrap_err();
    assert!(err.contains("\"b\" is not host:port"), "{err}");
}
