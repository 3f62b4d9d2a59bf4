//! Least power for user queries, against a real mariadbd: a `mysql` or `mysql-calendar` query
//! cannot write (not directly, not through a stored function, not as a second statement), is
//! stopped by the server at the trigger's timeout, and a calendar query returning more than
//! 10,000 rows is a clear error.

use mysql_async::prelude::Queryable;
use prescale_scalers::{Context, Error, Scaler, TriggerInput, registry};
use prescale_testkit::mariadb::MariaDb;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(2);

fn ctx() -> Context {
    Context {
        default_timeout: TIMEOUT,
        ..Context::default()
    }
}

async fn scaler(db: &MariaDb, kind: &str, query: &str) -> Arc<dyn Scaler> {
    let meta: &[(&str, &str)] = if kind == "mysql" {
        &[("query", query), ("queryValue", "4")]
    } else {
        &[("query", query), ("loadPerReplica", "1")]
    };
    let input = TriggerInput::new(kind, 0, meta).with_auth(&[("connectionString", &db.go_dsn(""))]);
    registry::parse(&input)
        .unwrap()
        .connect(&ctx())
        .await
        .unwrap()
}

/// One number from the test user's own (read-write) connection.
async fn number(db: &MariaDb, query: &str) -> i64 {
    let mut conn = mysql_async::Conn::new(db.client_opts()).await.unwrap();
    let v: Option<i64> = conn.query_first(query).await.unwrap();
    conn.disconnect().await.unwrap();
    v.unwrap_or_else(|| panic!("{query}: no row"))
}

#[tokio::test]
async fn a_query_that_writes_fails_and_writes_nothing() {
    let db = MariaDb::start();
    db.sql(&[
        "CREATE TABLE t (i INT)",
        "CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO t VALUES (1); RETURN 1; END",
    ])
    .await;
    let cases = [
        ("mysql", "SELECT bump()", "READ ONLY transaction"),
        ("mysql", "INSERT INTO t VALUES (2)", "READ ONLY transaction"),
        ("mysql", "UPDATE t SET i = 3", "READ ONLY transaction"),
        // a second statement is a syntax error in a prepared statement
        ("mysql", "SELECT 1; INSERT INTO t VALUES (4)", "SQL syntax"),
        ("mysql", "SELECT 1 FROM t FOR UPDATE", ""),
        (
            "mysql-calendar",
            "SELECT NOW(), NOW() + INTERVAL 1 HOUR, bump()",
            "READ ONLY transaction",
        ),
    ];
    for (kind, query, want) in cases {
        let s = scaler(&db, kind, query).await;
        match s.sample().await {
            Err(e) => {
                assert!(matches!(e, Error::Query(_)), "{query}: {e:?}");
                assert!(e.to_string().contains(want), "{query}: {e}");
            }
            // a locking read of an empty table is a read: it may answer (no rows → an error
            // for mysql), it must not write
            Ok(v) => assert!(want.is_empty(), "{query}: a value: {v:?}"),
        }
    }
    assert_eq!(
        number(&db, "SELECT COUNT(*) FROM t").await,
        0,
        "nothing written"
    );
    // and the pooled connection is not left in a transaction: a plain read still works
    let s = scaler(&db, "mysql", "SELECT 7").await;
    assert_eq!(s.sample().await.unwrap().value, 7.0);
}

#[tokio::test]
async fn a_slow_query_is_stopped_by_the_server_at_the_timeout() {
    let db = MariaDb::start();
    for (kind, query) in [
        ("mysql", "SELECT SLEEP(10)"),
        (
            "mysql-calendar",
            "SELECT NOW(), NOW() + INTERVAL 1 HOUR, SLEEP(10)",
        ),
    ] {
        let s = scaler(&db, kind, query).await;
        let t = Instant::now();
        let e = s.sample().await.unwrap_err();
        let took = t.elapsed();
        assert!(
            took < TIMEOUT + Duration::from_millis(500),
            "{kind}: {took:?}"
        );
        assert!(
            e.to_string().contains("timed out after 2s")
                || e.to_string().contains("max_statement_time exceeded"),
            "{kind}: {e}"
        );
        // the server stopped the statement too (without the limit it would run 10 s)
        tokio::time::sleep(Duration::from_millis(700)).await;
        let running = number(
            &db,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE INFO LIKE '%SLEEP(10)%' AND ID <> CONNECTION_ID()",
        )
        .await;
        assert_eq!(running, 0, "{kind}: the query still runs on the server");
    }
}

#[tokio::test]
async fn a_calendar_query_over_the_row_cap_is_a_clear_error() {
    let db = MariaDb::start();
    let rows = |n: usize| {
        format!("SELECT NOW() + INTERVAL 1 HOUR, NOW() + INTERVAL 2 HOUR, 1 FROM seq_1_to_{n}")
    };
    let s = scaler(&db, "mysql-calendar", &rows(10_000)).await;
    s.sample().await.expect("10,000 rows are allowed");
    let s = scaler(&db, "mysql-calendar", &rows(1_000_000)).await;
    let e = s.sample().await.unwrap_err();
    assert!(matches!(e, Error::Value(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "error inspecting MySQL calendar: the query returned more than 10000 rows: select only the horizon (:from, :to)"
    );
}
