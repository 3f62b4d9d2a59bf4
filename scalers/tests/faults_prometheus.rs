//! Fault matrix for the `prometheus` trigger (and the range query of its history, which
//! `prometheus-forecast` uses): a real Prometheus behind the test kit's fault proxy, down at
//! start, dying mid-run, slower than the timeout, answering garbage, and coming back. Each case
//! prints its row of the table in `docs/reliability.md` (run with `--nocapture`).

mod faults_support;

use faults_support::*;
use prescale_scalers::{Error, TriggerInput};
use prescale_testkit::faults::{Fault, FaultProxy};
use prescale_testkit::prometheus::PrometheusServer;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(1);
const VALUE: f64 = 7.0;
const FIFTY_MB: u64 = 50 * 1024 * 1024;

/// A `prometheus` trigger for `queue_depth` at `address`, with a bearer token `secret`.
fn trigger(address: &str, secret: &str) -> TriggerInput {
    TriggerInput::new(
        "prometheus",
        0,
        &[
            ("serverAddress", address),
            ("query", "queue_depth"),
            ("threshold", "10"),
            ("ignoreNullValues", "false"),
        ],
    )
    .with_auth(&[("authModes", "bearer"), ("bearerToken", secret)])
}

/// A server whose TSDB holds `value` for a whole second already (the query's `time` is cut to
/// whole seconds, as KEDA sends it, so a sample right after the first scrape may find nothing).
fn started(value: f64) -> PrometheusServer {
    let p = PrometheusServer::start();
    p.exporter.set(value);
    p.wait_for_value(value);
    std::thread::sleep(Duration::from_millis(1100));
    p
}

#[tokio::test]
async fn down_at_start_dies_mid_run_and_recovers() {
    let mut p = started(VALUE);
    let proxy = FaultProxy::start(p.port);
    let secret = marker();
    let ctx = ctx(TIMEOUT);
    let via_proxy = trigger(&format!("http://{}", proxy.address()), &secret);

    // down at start: nothing listens
    let nothing = format!("http://127.0.0.1:{}", prescale_testkit::free_port());
    let (s, _) = connect_timed(&ctx, &trigger(&nothing, &secret)).await;
    let s = s.expect("like KEDA, connect sends no query");
    let (e, took) = must_fail(&s, "nothing listening").await;
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("prometheus query failed: connection failed")
            && e.to_string().contains("refused"),
        "{e}"
    );
    assert_secret_free(&e, &secret);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
    row(
        "prometheus",
        "down at start: nothing listens",
        &e.to_string(),
        took,
        None,
    );

    // down at start: connections reset / closed at once; then the fault clears
    for (fault, name) in [
        (Fault::Reset, "down at start: every connection reset (RST)"),
        (
            Fault::Drop,
            "down at start: every connection closed at once (FIN)",
        ),
    ] {
        proxy.set(fault);
        let s = scaler(&ctx, &via_proxy).await.unwrap();
        let (e, took) = must_fail(&s, name).await;
        assert!(matches!(e, Error::Connect(_)), "{name}: {e:?}");
        assert!(
            e.to_string().starts_with("prometheus query failed: "),
            "{e}"
        );
        assert!(
            e.to_string().len() > "prometheus query failed: error sending request".len(),
            "{name}: the error says why: {e}"
        );
        assert_secret_free(&e, &secret);
        assert!(took < TIMEOUT + SLACK, "{name}: {took:?}");
        proxy.set(Fault::Pass);
        let r = recover(&s, VALUE).await;
        row("prometheus", name, &e.to_string(), took, Some(&r));
    }

    // dies mid-run: open (keep-alive) connections are reset
    let s = scaler(&ctx, &via_proxy).await.unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    proxy.set(Fault::Reset);
    let (e, took) = must_fail(&s, "reset mid-run").await;
    assert_secret_free(&e, &secret);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
    proxy.set(Fault::Pass);
    let r = recover(&s, VALUE).await;
    row(
        "prometheus",
        "dies mid-run: open connections reset, new ones too",
        &e.to_string(),
        took,
        Some(&r),
    );

    // dies mid-run: the real server is killed, a new one comes up on another port
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    p.kill();
    let (e, took) = must_fail(&s, "server killed").await;
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    assert_secret_free(&e, &secret);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
    let again = started(VALUE);
    proxy.set_upstream(again.port);
    let r = recover(&s, VALUE).await;
    row(
        "prometheus",
        "dies mid-run: server killed (a new one started)",
        &e.to_string(),
        took,
        Some(&r),
    );
}

#[tokio::test]
async fn slow_and_garbage_answers_fail_clearly_and_recover() {
    let p = started(VALUE);
    let proxy = FaultProxy::start(p.port);
    let secret = marker();
    let ctx = ctx(TIMEOUT);
    let input = trigger(&format!("http://{}", proxy.address()), &secret);
    let s = scaler(&ctx, &input).await.unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);

    // slower than the timeout
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
        assert_eq!(e.to_string(), "prometheus query timed out after 1s");
        assert!(
            took >= TIMEOUT && took < TIMEOUT + SLACK,
            "{name}: {took:?}"
        );
        proxy.set(Fault::Pass);
        let r = recover(&s, VALUE).await;
        row("prometheus", name, &e.to_string(), took, Some(&r));
    }

    // garbage
    let garbage = [
        (
            Fault::Html,
            "garbage: an HTML page (200 OK)",
            "unexpected body",
        ),
        (
            Fault::StringForNumber,
            "garbage: \"twelve\" as the value",
            "not a number",
        ),
        (
            Fault::HugeBody {
                bytes: FIFTY_MB,
                content_length: true,
            },
            "garbage: a 50 MB body, length announced",
            "larger than",
        ),
        (
            Fault::HugeBody {
                bytes: FIFTY_MB,
                content_length: false,
            },
            "garbage: a 50 MB body, length not announced",
            "larger than",
        ),
    ];
    for (fault, name, want) in garbage {
        let huge = matches!(fault, Fault::HugeBody { .. });
        let written_before = proxy.http_body_bytes_written();
        proxy.set(fault);
        let (e, took) = must_fail(&s, name).await;
        assert!(matches!(e, Error::Value(_)), "{name}: {e:?}");
        assert!(e.to_string().contains(want), "{name}: {e}");
        assert_secret_free(&e, &secret);
        assert!(took < TIMEOUT + SLACK, "{name}: {took:?}");
        proxy.set(Fault::Pass);
        let r = recover(&s, VALUE).await;
        let mut happened = e.to_string();
        if huge {
            let taken = proxy.http_body_bytes_written() - written_before;
            assert!(
                taken < 30 * 1024 * 1024,
                "{name}: the client took {taken} bytes of the body: not capped"
            );
            happened.push_str(&format!(
                " (the socket took {:.1} MiB of the 50 MiB)",
                taken as f64 / 1048576.0
            ));
        }
        row("prometheus", name, &happened, took, Some(&r));
    }

    // the range query (history, prometheus-forecast) has its own, larger cap
    let def = prescale_scalers::registry::parse(&input).unwrap();
    let now = chrono::Utc::now();
    let written_before = proxy.http_body_bytes_written();
    proxy.set(Fault::HugeBody {
        bytes: 3 * FIFTY_MB,
        content_length: false,
    });
    let t = std::time::Instant::now();
    let e = def
        .history(
            &ctx,
            now - chrono::Duration::hours(1),
            now,
            Duration::from_secs(60),
        )
        .await
        .expect("prometheus keeps history")
        .unwrap_err();
    let took = t.elapsed();
    let taken = proxy.http_body_bytes_written() - written_before;
    assert!(e.to_string().contains("larger than"), "{e}");
    assert!(
        taken < 80 * 1024 * 1024,
        "range body not capped: {taken} bytes taken"
    );
    proxy.set(Fault::Pass);
    let h = def
        .history(
            &ctx,
            now - chrono::Duration::minutes(1),
            now,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(h.is_ok(), "{h:?}");
    row(
        "prometheus (range query)",
        "garbage: a 150 MB body, length not announced",
        &format!("{e} (the socket took {:.1} MiB)", taken as f64 / 1048576.0),
        took,
        None,
    );
}

/// Regression: a keep-alive connection the server (or a load balancer) closed while idle made
/// the next sample fail ("connection closed before message completed"); it is retried once on
/// a new connection now, so the sample succeeds.
#[tokio::test]
async fn an_idle_connection_closed_by_the_server_is_not_a_failed_sample() {
    let p = started(VALUE);
    let proxy = FaultProxy::start(p.port);
    let ctx = ctx(TIMEOUT);
    let s = scaler(
        &ctx,
        &trigger(&format!("http://{}", proxy.address()), &marker()),
    )
    .await
    .unwrap();
    for round in 0..5 {
        assert_eq!(s.sample().await.unwrap().value, VALUE, "round {round}");
        // FIN on the pooled connection, then new connections pass again. The wait blocks
        // this (current-thread) runtime on purpose: the client's connection task cannot see
        // the FIN before the next request picks the connection from the pool, as happens
        // when a server closes an idle connection just as a poll starts.
        let before = proxy.accepted();
        proxy.set(Fault::Drop);
        std::thread::sleep(Duration::from_millis(50));
        proxy.set(Fault::Pass);
        let v = s.sample().await;
        assert_eq!(v.map(|v| v.value), Ok(VALUE), "round {round}");
        assert!(
            proxy.accepted() > before,
            "round {round}: a new connection was made"
        );
    }
}
