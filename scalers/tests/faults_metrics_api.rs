//! Fault matrix for the `metrics-api` trigger: the test kit's exporter (a real exposition page)
//! behind the fault proxy, read with `format: prometheus` and a query-string API key: down at
//! start, dying mid-run, slower than the timeout, answering garbage and huge bodies, and coming
//! back. Each case prints its row of the table in `docs/reliability.md` (run with
//! `--nocapture`).

mod faults_support;

use faults_support::*;
use prescale_scalers::{Error, TriggerInput};
use prescale_testkit::faults::{Fault, FaultProxy};
use prescale_testkit::prometheus::Exporter;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(1);
const VALUE: f64 = 7.0;
const FIFTY_MB: u64 = 50 * 1024 * 1024;

/// `queue_depth` of the page at `address`, the API key `secret` in the query string.
fn trigger(address: &str, secret: &str) -> TriggerInput {
    TriggerInput::new(
        "metrics-api",
        0,
        &[
            ("url", &format!("{address}/metrics")),
            ("format", "prometheus"),
            ("valueLocation", "queue_depth"),
            ("targetValue", "10"),
            ("timeout", "1s"),
            ("authMode", "apiKey"),
            ("method", "query"),
        ],
    )
    .with_auth(&[("apiKey", secret)])
}

#[tokio::test]
async fn faults_fail_clearly_within_the_timeout_and_recover() {
    let exporter = Exporter::start(VALUE);
    let proxy = FaultProxy::start(exporter.port);
    let secret = marker();
    let ctx = ctx(TIMEOUT);
    let input = trigger(&format!("http://{}", proxy.address()), &secret);

    // down at start: nothing listens (connect sends nothing, as KEDA's)
    let nothing = format!("http://127.0.0.1:{}", prescale_testkit::free_port());
    let s = scaler(&ctx, &trigger(&nothing, &secret)).await.unwrap();
    let (e, took) = must_fail(&s, "nothing listening").await;
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    assert!(e.to_string().contains("refused"), "{e}");
    assert_secret_free(&e, &secret);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
    row(
        "metrics-api",
        "down at start: nothing listens",
        &e.to_string(),
        took,
        None,
    );

    let s = scaler(&ctx, &input).await.unwrap();
    assert_eq!(s.sample().await.unwrap().value, VALUE);
    let cases: Vec<(Fault, &str, &str)> = vec![
        (
            Fault::Reset,
            "every connection reset (RST)",
            "error requesting metrics endpoint",
        ),
        (
            Fault::Drop,
            "every connection closed at once (FIN)",
            "error requesting metrics endpoint",
        ),
        (
            Fault::Delay(TIMEOUT + Duration::from_secs(1)),
            "slower than the timeout: every chunk 2 s late (timeout 1 s)",
            "metrics-api request timed out after 1s",
        ),
        (
            Fault::Blackhole,
            "slower than the timeout: blackhole (accepts, never answers)",
            "metrics-api request timed out after 1s",
        ),
        (
            Fault::Html,
            "garbage: an HTML page (200 OK)",
            "is not a sample",
        ),
        (
            Fault::HugeBody {
                bytes: FIFTY_MB,
                content_length: true,
            },
            "garbage: a 50 MB body, length announced",
            "larger than 4 MiB",
        ),
        (
            Fault::HugeBody {
                bytes: FIFTY_MB,
                content_length: false,
            },
            "garbage: a 50 MB body, length not announced",
            "larger than 4 MiB",
        ),
    ];
    for (fault, name, want) in cases {
        let huge = matches!(fault, Fault::HugeBody { .. });
        let written_before = proxy.http_body_bytes_written();
        proxy.set(fault);
        let (e, took) = must_fail(&s, name).await;
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
                "{name}: {taken} bytes taken: not capped"
            );
            happened.push_str(&format!(
                " (the socket took {:.1} MiB of the 50 MiB)",
                taken as f64 / 1048576.0
            ));
        }
        row("metrics-api", name, &happened, took, Some(&r));
    }

    // dies mid-run: the exporter stops, a new one comes up on another port
    drop(exporter);
    let (e, took) = must_fail(&s, "exporter stopped").await;
    assert_secret_free(&e, &secret);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
    let again = Exporter::start(VALUE);
    proxy.set_upstream(again.port);
    let r = recover(&s, VALUE).await;
    row(
        "metrics-api",
        "dies mid-run: server stopped (a new one started)",
        &e.to_string(),
        took,
        Some(&r),
    );
}
