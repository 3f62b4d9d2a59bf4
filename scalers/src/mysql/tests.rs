//! Parsing of `mysql` triggers: sources, defaults, metric names, errors.

use super::MySqlDefinition;
use crate::TriggerDefinition;
use crate::input::TriggerInput;

fn def(
    meta: &[(&str, &str)],
    auth: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Result<MySqlDefinition, String> {
    MySqlDefinition::parse(
        &TriggerInput::new("mysql", 1, meta)
            .with_auth(auth)
            .with_env(env),
    )
    .map_err(|e| e.to_string())
}

const Q: (&str, &str) = ("query", "SELECT 1");

#[test]
fn connection_string_from_auth_or_env_and_metric_name() {
    let d = def(
        &[Q, ("queryValue", "4")],
        &[("connectionString", "u:p@tcp(db:3306)/test_db")],
        &[],
    )
    .unwrap();
    assert_eq!(d.metric_spec().external_name(), Some("s1-mysql-test_db"));
    assert_eq!(d.metric_spec().target().average_value.as_deref(), Some("4"));
    let d = def(
        &[Q, ("queryValue", "2.5"), ("connectionStringFromEnv", "DSN")],
        &[],
        &[("DSN", "u:p@tcp(db:3306)/shop?tls=true")],
    )
    .unwrap();
    // KEDA keeps everything after the last '/', parameters included, then normalises
    assert_eq!(
        d.metric_spec().external_name(),
        Some("s1-mysql-shop?tls=true")
    );
    assert_eq!(
        d.metric_spec().target().average_value.as_deref(),
        Some("2500m")
    );
    // auth wins over env
    let d = def(
        &[Q, ("queryValue", "1"), ("connectionStringFromEnv", "DSN")],
        &[("connectionString", "u:p@tcp(a:1)/from_auth")],
        &[("DSN", "u:p@tcp(b:1)/from_env")],
    )
    .unwrap();
    assert_eq!(d.metric_spec().external_name(), Some("s1-mysql-from_auth"));
}

#[test]
fn parts_and_source_orders() {
    let d = def(
        &[
            Q,
            ("queryValue", "1"),
            ("host", "h"),
            ("port", "3306"),
            ("dbName", "app.v2"),
            ("username", "meta-user"),
            ("password", "ignored-in-metadata"),
        ],
        &[("password", "from-auth")],
        &[],
    )
    .unwrap();
    assert_eq!(d.metric_spec().external_name(), Some("s1-mysql-app-v2"));
    let dsn = d.dsn.clone().unwrap();
    assert_eq!(
        (dsn.user.as_str(), dsn.password.as_str(), dsn.addr.as_str()),
        ("meta-user", "from-auth", "h:3306")
    );
    // password never from metadata
    let d = def(
        &[
            Q,
            ("queryValue", "1"),
            ("host", "h"),
            ("port", "1"),
            ("password", "meta-pw"),
        ],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(d.dsn.clone().unwrap().password, "");
    // password from env
    let d = def(
        &[
            Q,
            ("queryValue", "1"),
            ("host", "h"),
            ("port", "1"),
            ("passwordFromEnv", "PW"),
        ],
        &[],
        &[("PW", "env-pw")],
    )
    .unwrap();
    assert_eq!(d.dsn.clone().unwrap().password, "env-pw");
    assert_eq!(d.activation_query_value, 0.0);
}

#[test]
fn errors() {
    let e = def(&[("queryValue", "1")], &[], &[]).unwrap_err();
    assert_eq!(
        e,
        "error parsing MySQL metadata: missing required parameter \"query\" in [triggerMetadata]"
    );
    let e = def(&[Q], &[], &[]).unwrap_err();
    assert!(
        e.contains("missing required parameter \"queryValue\" in [triggerMetadata]"),
        "{e}"
    );
    let e = def(&[Q, ("queryValue", "four")], &[], &[]).unwrap_err();
    assert!(
        e.contains("unable to set param \"queryValue\" value \"four\""),
        "{e}"
    );
    let e = def(
        &[Q, ("queryValue", "1"), ("activationQueryValue", "x")],
        &[],
        &[],
    )
    .unwrap_err();
    assert!(e.contains("activationQueryValue"), "{e}");
    let e = MySqlDefinition::parse(
        &TriggerInput::new("mysql", 0, &[Q, ("queryValue", "1")]).with_metric_type("Utilization"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("'Utilization' metric type is unsupported"),
        "{e}"
    );
}

#[test]
fn debug_hides_the_password() {
    let d = def(
        &[Q, ("queryValue", "1")],
        &[("connectionString", "u:sup3rs3cret@tcp(db:3306)/x")],
        &[],
    )
    .unwrap();
    assert!(!format!("{d:?}").contains("sup3rs3cret"));
}
