//! The mysql scaler against a real mariadbd: values, activity, DSN forms, failures (wrong
//! password, bad SQL, NULL/no rows, server down, timeout), TLS, shared pools, no leaks.

use prescale_scalers::{Context, Error, Scaler, TriggerInput, registry};
use prescale_testkit::mariadb::{DATABASE, MariaDb, PASSWORD, USER};
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

const COUNT: &str =
    "SELECT CEIL(COUNT(*) / 5) FROM task_instance WHERE state='running' OR state='queued'";

fn with_dsn(dsn: &str, query: &str, extra: &[(&str, &str)]) -> TriggerInput {
    let mut meta = vec![("query", query), ("queryValue", "4")];
    meta.extend_from_slice(extra);
    TriggerInput::new("mysql", 0, &meta).with_auth(&[("connectionString", dsn)])
}

#[tokio::test]
async fn value_and_activity_follow_the_rows() {
    let db = MariaDb::start();
    db.sql(&["CREATE TABLE task_instance (id INT AUTO_INCREMENT PRIMARY KEY, state VARCHAR(16))"])
        .await;
    let ctx = ctx();
    let s = scaler(
        &ctx,
        with_dsn(&db.go_dsn(""), COUNT, &[("activationQueryValue", "2")]),
    )
    .await
    .unwrap();
    let v = s.sample().await.unwrap();
    assert_eq!((v.value, v.active), (0.0, false));
    let inserts: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "INSERT INTO task_instance (state) VALUES ('{}')",
                if i % 2 == 0 { "running" } else { "queued" }
            )
        })
        .collect();
    db.sql(&inserts.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let v = s.sample().await.unwrap();
    assert_eq!((v.value, v.active), (3.0, true), "ceil(12/5) = 3 > 2");
    db.sql(&["DELETE FROM task_instance LIMIT 3"]).await;
    assert_eq!(s.sample().await.unwrap().value, 2.0);
}

#[tokio::test]
async fn dsn_from_env_and_from_parts() {
    let db = MariaDb::start();
    let ctx = ctx();
    let from_env = TriggerInput::new(
        "mysql",
        0,
        &[
            ("query", "SELECT 7"),
            ("queryValue", "1"),
            ("connectionStringFromEnv", "DSN"),
        ],
    )
    .with_env(&[("DSN", &db.go_dsn("timeout=2s&charset=utf8mb4"))]);
    assert_eq!(
        scaler(&ctx, from_env)
            .await
            .unwrap()
            .sample()
            .await
            .unwrap()
            .value,
        7.0
    );
    let port = db.port.to_string();
    let parts = TriggerInput::new(
        "mysql",
        0,
        &[
            ("query", "SELECT '12.5'"),
            ("queryValue", "1"),
            ("host", "127.0.0.1"),
            ("port", &port),
            ("dbName", DATABASE),
            ("username", USER),
        ],
    )
    .with_auth(&[("password", PASSWORD)]);
    assert_eq!(
        scaler(&ctx, parts)
            .await
            .unwrap()
            .sample()
            .await
            .unwrap()
            .value,
        12.5,
        "numeric strings convert"
    );
    let decimal = with_dsn(&db.go_dsn(""), "SELECT CAST(3.75 AS DECIMAL(5,2))", &[]);
    assert_eq!(
        scaler(&ctx, decimal)
            .await
            .unwrap()
            .sample()
            .await
            .unwrap()
            .value,
        3.75
    );
}

#[tokio::test]
async fn failures_are_clear_and_secret_free() {
    let mut db = MariaDb::start();
    let ctx = ctx();
    let wrong = format!(
        "{USER}:not-the-password@tcp(127.0.0.1:{})/{DATABASE}",
        db.port
    );
    let e = match scaler(&ctx, with_dsn(&wrong, "SELECT 1", &[])).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("wrong password accepted"),
    };
    assert!(e.starts_with("error establishing MySQL connection"), "{e}");
    assert!(!e.contains("not-the-password"), "{e}");

    let good = db.go_dsn("");
    for (query, want) in [
        ("SELEC 1", "error inspecting MySQL"),
        ("SELECT NULL", "NULL"),
        ("SELECT 1 FROM DUAL WHERE 1 = 0", "no rows"),
        ("SELECT 'many'", "not a number"),
    ] {
        let s = scaler(&ctx, with_dsn(&good, query, &[])).await.unwrap();
        let e = s.sample().await.unwrap_err().to_string();
        assert!(e.contains(want), "{query}: {e}");
        assert!(!e.contains(PASSWORD), "{e}");
    }

    let s = scaler(&ctx, with_dsn(&good, "SELECT 1", &[]))
        .await
        .unwrap();
    db.kill();
    let started = Instant::now();
    assert!(s.sample().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn slow_queries_time_out() {
    let db = MariaDb::start();
    let ctx = Context {
        default_timeout: Duration::from_millis(500),
        ..Context::default()
    };
    let s = scaler(&ctx, with_dsn(&db.go_dsn(""), "SELECT SLEEP(5)", &[]))
        .await
        .unwrap();
    let started = Instant::now();
    let e = s.sample().await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn tls_skip_verify_and_preferred() {
    let db = MariaDb::start_with(Some(TlsFiles::generate()));
    let ctx = ctx();
    for params in ["tls=skip-verify", "tls=preferred"] {
        let s = scaler(&ctx, with_dsn(&db.go_dsn(params), "SELECT COUNT(*) FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher' AND VARIABLE_VALUE <> ''", &[])).await.unwrap();
        assert_eq!(
            s.sample().await.unwrap().value,
            1.0,
            "{params}: the session is encrypted"
        );
    }
    // tls=true verifies the certificate, which a private CA does not pass
    assert!(
        scaler(&ctx, with_dsn(&db.go_dsn("tls=true"), "SELECT 1", &[]))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn shared_pool_and_no_connection_leak_on_errors() {
    let db = MariaDb::start();
    let ctx = ctx();
    let dsn = db.go_dsn("");
    let a = scaler(&ctx, with_dsn(&dsn, "SELECT 1", &[])).await.unwrap();
    let bad = scaler(&ctx, with_dsn(&dsn, "SELECT * FROM no_such_table", &[]))
        .await
        .unwrap();
    assert_eq!(
        ctx.pools.count::<prescale_scalers::mysql::MySqlPool>(),
        1,
        "two triggers, one DSN, one pool"
    );
    for _ in 0..50 {
        assert!(bad.sample().await.is_err());
        a.sample().await.unwrap();
    }
    let threads = scaler(&ctx, with_dsn(&dsn, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'", &[])).await.unwrap();
    let connected = threads.sample().await.unwrap().value;
    assert!(
        connected <= 5.0,
        "{connected} connections after 100 queries"
    );
}
