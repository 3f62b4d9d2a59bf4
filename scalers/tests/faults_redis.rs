//! Fault matrix for the `redis` trigger: a real redis-server (with a password) behind the test
//! kit's fault proxy, down at start, dying mid-run, slower than the timeout, answering garbage
//! (junk bytes, a non-number where the count belongs, a key of the wrong type, a 50 MB reply),
//! and coming back. Each case prints its row of the table in `docs/reliability.md` (run with
//! `--nocapture`).

mod faults_support;

use faults_support::*;
use prescale_scalers::{Error, TriggerInput};
use prescale_testkit::faults::{Fault, FaultProxy};
use prescale_testkit::redis::{RedisOptions, RedisServer};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(1);
const VALUE: f64 = 7.0;
const KEY: &str = "jobs";

/// A `redis` trigger for the list `jobs` at `address`, with the password `secret`.
fn trigger(address: &str, secret: &str) -> TriggerInput {
    TriggerInput::new(
        "redis",
        0,
        &[("address", address), ("listName", KEY), ("listLength", "5")],
    )
    .with_auth(&[("password", secret)])
}

/// A server with the password `secret` whose list `jobs` holds [`VALUE`] items.
fn started(secret: &str) -> RedisServer {
    let r = RedisServer::start_with(RedisOptions {
        password: Some(secret.to_string()),
        ..RedisOptions::default()
    });
    fill(&r);
    r
}

fn fill(r: &RedisServer) {
    r.cli(&["DEL", KEY]);
    r.cli(&["RPUSH", KEY, "a", "b", "c", "d", "e", "f", "g"]);
}

/// The error names the source and says something beyond it; no secret; within the timeout.
fn assert_clear(e: &Error, secret: &str, took: Duration, name: &str) {
    let text = e.to_string();
    assert!(
        text.contains("redis"),
        "{name}: the error names redis: {text}"
    );
    assert!(
        text.len() > "connection to redis failed: ".len(),
        "{name}: the error says why: {text}"
    );
    assert_secret_free(e, secret);
    assert!(took < TIMEOUT + SLACK, "{name}: {took:?}");
}

/// The open connection closing when the fault was set is retried on a new one, so the error
/// is the fault's own, not the close's.
fn assert_not_a_closed_connection(e: &Error, name: &str) {
    let text = e.to_string();
    assert!(
        !text.contains("broken pipe") && !text.contains("reset by peer"),
        "{name}: the error is the closed connection's, not the junk's: {text}"
    );
}

#[tokio::test]
async fn down_at_start_dies_mid_run_and_recovers() {
    let secret = marker();
    let mut r = started(&secret);
    let proxy = FaultProxy::start(r.port);
    let ctx = ctx(TIMEOUT);
    let via_proxy = trigger(&proxy.address(), &secret);

    // down at start: nothing listens (the build-time PING fails, as in KEDA)
    let nothing = format!("127.0.0.1:{}", prescale_testkit::free_port());
    let (e, took) = connect_timed(&ctx, &trigger(&nothing, &secret)).await;
    let e = e.err().expect("nothing listening: no scaler");
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    assert!(e.to_string().contains("refused"), "{e}");
    assert_clear(&e, &secret, took, "nothing listens");
    row(
        "redis",
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
        assert!(matches!(e, Error::Connect(_)), "{name}: {e:?}");
        assert_clear(&e, &secret, took, name);
        proxy.set(Fault::Pass);
        let rec = recover_connect(&ctx, &via_proxy, VALUE).await;
        row("redis", name, &e.to_string(), took, Some(&rec));
    }

    // dies mid-run: open connections reset, new ones too
    let s = scaler(&ctx, &via_proxy).await.unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    proxy.set(Fault::Reset);
    let (e, took) = must_fail(&s, "reset mid-run").await;
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    assert_clear(&e, &secret, took, "reset mid-run");
    proxy.set(Fault::Pass);
    let rec = recover(&s, VALUE).await;
    row(
        "redis",
        "dies mid-run: open connections reset, new ones too",
        &e.to_string(),
        took,
        Some(&rec),
    );

    // dies mid-run: the server is killed; a new one comes up (empty, then filled)
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    r.kill();
    let (e, took) = must_fail(&s, "server killed").await;
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    assert_clear(&e, &secret, took, "server killed");
    let again = started(&secret);
    proxy.set_upstream(again.port);
    let rec = recover(&s, VALUE).await;
    row(
        "redis",
        "dies mid-run: server killed (a new one started)",
        &e.to_string(),
        took,
        Some(&rec),
    );
}

#[tokio::test]
async fn slow_answers_time_out_and_recover() {
    let secret = marker();
    let r = started(&secret);
    let proxy = FaultProxy::start(r.port);
    let ctx = ctx(TIMEOUT);
    let s = scaler(&ctx, &trigger(&proxy.address(), &secret))
        .await
        .unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    for (fault, name) in [
        (
            Fault::Delay(TIMEOUT + Duration::from_secs(1)),
            "slower than the timeout: every chunk 2 s late (timeout 1 s)",
        ),
        (
            Fault::Blackhole,
            "slower than the timeout: blackhole (accepts, never answers)",
        ),
    ] {
        proxy.set(fault);
        let (e, took) = must_fail(&s, name).await;
        assert!(matches!(e, Error::Timeout { .. }), "{name}: {e:?}");
        assert_eq!(e.to_string(), "redis length of \"jobs\" timed out after 1s");
        assert_clear(&e, &secret, took, name);
        assert!(
            took >= TIMEOUT - Duration::from_millis(50),
            "{name}: {took:?}"
        );
        proxy.set(Fault::Pass);
        let rec = recover(&s, VALUE).await;
        row("redis", name, &e.to_string(), took, Some(&rec));
    }
}

#[tokio::test]
async fn garbage_fails_clearly_and_recovers() {
    let secret = marker();
    let r = started(&secret);
    let proxy = FaultProxy::start(r.port);
    let ctx = ctx(TIMEOUT);
    let s = scaler(&ctx, &trigger(&proxy.address(), &secret))
        .await
        .unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    let junk: [(&[u8], &str); 3] = [
        (
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            "garbage: an HTTP answer instead of RESP",
        ),
        (
            b":twelve\r\n",
            "garbage: an integer reply that is not a number",
        ),
        (b"\x00\x01\x02\xff\xfe junk", "garbage: raw binary junk"),
    ];
    for (bytes, name) in junk {
        proxy.set(Fault::Junk(bytes.to_vec()));
        let (e, took) = must_fail(&s, name).await;
        assert_clear(&e, &secret, took, name);
        assert_not_a_closed_connection(&e, name);
        proxy.set(Fault::Pass);
        let rec = recover(&s, VALUE).await;
        row("redis", name, &e.to_string(), took, Some(&rec));
    }

    // the real server, a key of the wrong type: a string where the list belongs
    r.cli(&["DEL", KEY]);
    r.cli(&["SET", KEY, "twelve"]);
    let name = "wrong type: the key holds a string (\"twelve\")";
    let (e, took) = must_fail(&s, name).await;
    assert!(matches!(e, Error::Query(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "redis length of \"jobs\": ResponseError: unsupported key type: string"
    );
    assert_clear(&e, &secret, took, name);
    fill(&r);
    let rec = recover(&s, VALUE).await;
    row("redis", name, &e.to_string(), took, Some(&rec));
}

/// A 50 MB bulk reply (announced as one RESP bulk string, sent at once): the sample fails
/// within the timeout, and the process's peak memory is reported.
///
/// Also the regression test of a stuck connection: a reply that did not parse left the
/// connection manager on the broken stream for good (no recovery within 30 s); it is replaced
/// now (`garbage_fails_clearly_and_recovers` covers the parse errors).
#[tokio::test]
async fn a_huge_reply_fails_within_the_timeout() {
    let secret = marker();
    let r = started(&secret);
    let proxy = FaultProxy::start(r.port);
    let ctx = ctx(TIMEOUT);
    let s = scaler(&ctx, &trigger(&proxy.address(), &secret))
        .await
        .unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    let size = 50 * 1024 * 1024;
    let mut bulk = format!("${size}\r\n").into_bytes();
    bulk.resize(bulk.len() + size, b'9');
    bulk.extend_from_slice(b"\r\n");
    proxy.set(Fault::Junk(bulk));
    let name = "garbage: a 50 MB bulk reply";
    let ((e, took), grew) = peak_growth(must_fail(&s, name)).await;
    assert_clear(&e, &secret, took, name);
    assert_not_a_closed_connection(&e, name);
    // redis-rs has no cap on a reply's size: it buffers what arrives within the timeout (and
    // Redis allows bulk strings of 512 MB); docs/reliability.md records the measured peak
    assert!(
        grew < 256 * 1024 * 1024,
        "{name}: peak memory rose {}",
        mib(grew)
    );
    proxy.set(Fault::Pass);
    let rec = recover(&s, VALUE).await;
    row(
        "redis",
        name,
        &format!("{e} (peak memory rose {})", mib(grew)),
        took,
        Some(&rec),
    );
}
