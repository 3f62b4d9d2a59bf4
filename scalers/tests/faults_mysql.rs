//! Fault matrix for the `mysql` trigger: a real mariadbd (a user whose password is a unique
//! marker) behind the test kit's fault proxy, down at start, dying mid-run, slower than the
//! timeout, answering junk or a string for the number, a 50 MB result, and coming back. Each
//! case prints its row of the table in `docs/reliability.md` (run with `--nocapture`).

mod faults_support;

use faults_support::*;
use prescale_scalers::{Error, TriggerInput};
use prescale_testkit::faults::{Fault, FaultProxy};
use prescale_testkit::mariadb::MariaDb;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(1);
const VALUE: f64 = 7.0;

/// A `mysql` trigger reading `m.v` through `address` as the user `m` with password `secret`.
fn trigger(address: &str, secret: &str, query: &str) -> TriggerInput {
    TriggerInput::new("mysql", 0, &[("query", query), ("queryValue", "5")]).with_auth(&[(
        "connectionString",
        &format!("m:{secret}@tcp({address})/app"),
    )])
}

const READ: &str = "SELECT v FROM m";

/// A server with the user `m` (password `secret`) and a table `m` holding [`VALUE`].
async fn started(secret: &str) -> MariaDb {
    let db = MariaDb::start();
    db.sql(&[
        &format!("CREATE USER 'm'@'%' IDENTIFIED BY '{secret}'"),
        "GRANT ALL ON app.* TO 'm'@'%'",
        "CREATE TABLE m (v VARCHAR(64))",
        "INSERT INTO m VALUES ('7')",
    ])
    .await;
    db
}

fn assert_clear(e: &Error, secret: &str, took: Duration, name: &str) {
    let text = e.to_string();
    assert!(
        text.contains("MySQL"),
        "{name}: the error names MySQL: {text}"
    );
    assert_secret_free(e, secret);
    assert!(took < TIMEOUT + SLACK, "{name}: {took:?}");
}

#[tokio::test]
async fn down_at_start_dies_mid_run_and_recovers() {
    let secret = marker();
    let mut db = started(&secret).await;
    let proxy = FaultProxy::start(db.port);
    let ctx = ctx(TIMEOUT);
    let via_proxy = trigger(&proxy.address(), &secret, READ);

    let nothing = format!("127.0.0.1:{}", prescale_testkit::free_port());
    let (e, took) = connect_timed(&ctx, &trigger(&nothing, &secret, READ)).await;
    let e = e.err().expect("nothing listening: no scaler");
    assert!(e.to_string().contains("refused"), "{e}");
    assert_clear(&e, &secret, took, "nothing listens");
    row(
        "mysql",
        "down at start: nothing listens",
        &e.to_string(),
        took,
        None,
    );

    for (fault, name) in [
        (Fault::Reset, "down at start: every connection reset (RST)"),
        (
            Fault::Drop,
            "down at start: every connection closed at once (FIN)",
        ),
    ] {
        proxy.set(fault);
        let (e, took) = connect_timed(&ctx, &via_proxy).await;
        let e = e
            .err()
            .unwrap_or_else(|| panic!("{name}: a scaler was built"));
        assert_clear(&e, &secret, took, name);
        proxy.set(Fault::Pass);
        let rec = recover_connect(&ctx, &via_proxy, VALUE).await;
        row("mysql", name, &e.to_string(), took, Some(&rec));
    }

    let s = scaler(&ctx, &via_proxy).await.unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    proxy.set(Fault::Reset);
    let (e, took) = must_fail(&s, "reset mid-run").await;
    assert_clear(&e, &secret, took, "reset mid-run");
    proxy.set(Fault::Pass);
    let rec = recover(&s, VALUE).await;
    let name = "dies mid-run: open connections reset, new ones too";
    row("mysql", name, &e.to_string(), took, Some(&rec));

    assert_eq!(s.sample().await.unwrap().value, VALUE);
    db.kill();
    let (e, took) = must_fail(&s, "server killed").await;
    assert_clear(&e, &secret, took, "server killed");
    let again = started(&secret).await;
    proxy.set_upstream(again.port);
    let rec = recover(&s, VALUE).await;
    let name = "dies mid-run: server killed (a new one started)";
    row("mysql", name, &e.to_string(), took, Some(&rec));
}

#[tokio::test]
async fn slow_and_garbage_answers_fail_clearly_and_recover() {
    let secret = marker();
    let db = started(&secret).await;
    let proxy = FaultProxy::start(db.port);
    let ctx = ctx(TIMEOUT);
    let s = scaler(&ctx, &trigger(&proxy.address(), &secret, READ))
        .await
        .unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    let slow = [
        (
            Fault::Delay(TIMEOUT + Duration::from_secs(1)),
            "slower than the timeout: every chunk 2 s late (timeout 1 s)",
        ),
        (
            Fault::Blackhole,
            "slower than the timeout: blackhole (accepts, never answers)",
        ),
    ];
    for (fault, name) in slow {
        proxy.set(fault);
        let (e, took) = must_fail(&s, name).await;
        assert!(matches!(e, Error::Timeout { .. }), "{name}: {e:?}");
        assert_eq!(e.to_string(), "MySQL query timed out after 1s");
        assert!(took >= TIMEOUT, "{name}: {took:?}");
        assert_clear(&e, &secret, took, name);
        proxy.set(Fault::Pass);
        let rec = recover(&s, VALUE).await;
        row("mysql", name, &e.to_string(), took, Some(&rec));
    }
    let junk: [(&[u8], &str); 2] = [
        (
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            "garbage: an HTTP answer instead of the MySQL handshake",
        ),
        (
            b"\x05\x00\x00\x00\xff\x01\x02junk",
            "garbage: raw binary junk",
        ),
    ];
    for (bytes, name) in junk {
        proxy.set(Fault::Junk(bytes.to_vec()));
        let (e, took) = must_fail(&s, name).await;
        assert_clear(&e, &secret, took, name);
        proxy.set(Fault::Pass);
        let rec = recover(&s, VALUE).await;
        row("mysql", name, &e.to_string(), took, Some(&rec));
    }

    // the real server: a string where the number belongs
    db.sql(&["UPDATE m SET v = 'twelve'"]).await;
    let name = "garbage: the query returns 'twelve'";
    let (e, took) = must_fail(&s, name).await;
    assert!(matches!(e, Error::Value(_)), "{e:?}");
    assert!(e.to_string().contains("\"twelve\", not a number"), "{e}");
    assert_clear(&e, &secret, took, name);
    db.sql(&["UPDATE m SET v = '7'"]).await;
    let rec = recover(&s, VALUE).await;
    row("mysql", name, &e.to_string(), took, Some(&rec));
}

/// A query whose result is 50 MB (500,000 rows of 100 bytes): the first row is the value, the
/// rest is not read (the connection is closed instead), so memory stays flat and the sample
/// is quick.
#[tokio::test]
async fn a_huge_result_is_not_read_past_the_first_row() {
    let secret = marker();
    let db = started(&secret).await;
    let ctx = ctx(TIMEOUT);
    let huge = "SELECT 7, REPEAT('x', 100) FROM seq_1_to_500000";
    let s = scaler(
        &ctx,
        &trigger(&format!("127.0.0.1:{}", db.port), &secret, huge),
    )
    .await
    .unwrap();
    let ((v, took), grew) = peak_growth(sample_timed(&s)).await;
    assert_eq!(v.unwrap().value, VALUE);
    assert!(took < TIMEOUT, "{took:?}");
    assert!(grew < 20 * 1024 * 1024, "peak memory rose {}", mib(grew));
    let again = sample_timed(&s).await;
    assert_eq!(again.0.unwrap().value, VALUE);
    row(
        "mysql",
        "a 50 MB result (500,000 rows of 100 bytes)",
        &format!(
            "value 7 from the first row; the rest not read (peak memory rose {})",
            mib(grew)
        ),
        took,
        None,
    );
}
