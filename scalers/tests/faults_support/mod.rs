//! Shared by the fault-matrix tests (`faults_*.rs`): timing a sample, measuring recovery, the
//! secret check, and the table rows the tests print (`docs/reliability.md` holds them).

#![allow(dead_code)]

use prescale_scalers::{Context, Error, Sample, Scaler, TriggerInput, registry};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The polling interval the recovery bound is checked against: KEDA's default
/// `pollingInterval` (30 s). Recovery is measured by sampling every 50 ms.
pub const POLLING_INTERVAL: Duration = Duration::from_secs(30);

/// Slack allowed past a timeout on a loaded 2-core machine.
pub const SLACK: Duration = Duration::from_secs(2);

pub fn ctx(timeout: Duration) -> Context {
    Context {
        default_timeout: timeout,
        ..Context::default()
    }
}

pub async fn scaler(ctx: &Context, input: &TriggerInput) -> Result<Arc<dyn Scaler>, Error> {
    registry::parse(input)?.connect(ctx).await
}

/// Builds a scaler, timing it.
pub async fn connect_timed(
    ctx: &Context,
    input: &TriggerInput,
) -> (Result<Arc<dyn Scaler>, Error>, Duration) {
    let t = Instant::now();
    let r = scaler(ctx, input).await;
    (r, t.elapsed())
}

/// One sample, timed.
pub async fn sample_timed(s: &Arc<dyn Scaler>) -> (Result<Sample, Error>, Duration) {
    let t = Instant::now();
    let r = s.sample().await;
    (r, t.elapsed())
}

/// A sample that must fail: its error and how long it took. A value under a fault is a
/// wrong value, whatever it is.
pub async fn must_fail(s: &Arc<dyn Scaler>, what: &str) -> (Error, Duration) {
    match sample_timed(s).await {
        (Err(e), took) => (e, took),
        (Ok(v), _) => panic!("{what}: a value was served under the fault: {v:?}"),
    }
}

/// Neither the Display nor the Debug form of `e` holds `secret`.
pub fn assert_secret_free(e: &Error, secret: &str) {
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(secret), "the secret leaked: {text}");
    }
}

/// How a scaler came back after a fault was cleared.
#[derive(Debug)]
pub struct Recovery {
    /// From clearing the fault to the first good sample.
    pub took: Duration,
    /// Samples that failed before it.
    pub failed: usize,
    /// The first failure's text, if any.
    pub first_error: Option<String>,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.first_error {
            None => write!(f, "{} (first sample ok)", ms(self.took)),
            Some(e) => write!(
                f,
                "{} ({} failed sample(s) first: {e})",
                ms(self.took),
                self.failed
            ),
        }
    }
}

/// Samples every 50 ms from now (the fault just cleared) until one returns `want`; any other
/// value panics (a wrong size), and so does no recovery within [`POLLING_INTERVAL`].
pub async fn recover(s: &Arc<dyn Scaler>, want: f64) -> Recovery {
    let start = Instant::now();
    let mut failed = 0;
    let mut first_error = None;
    loop {
        match s.sample().await {
            Ok(v) => {
                assert_eq!(v.value, want, "a wrong value after recovery: {v:?}");
                return Recovery {
                    took: start.elapsed(),
                    failed,
                    first_error,
                };
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
        assert!(
            start.elapsed() < POLLING_INTERVAL,
            "no recovery within one polling interval ({POLLING_INTERVAL:?}); {failed} failures, first: {first_error:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn ms(d: Duration) -> String {
    if d >= Duration::from_secs(10) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Prints one row of the fault table: `| backend | injected | what happened | took | recovery |`.
pub fn row(
    backend: &str,
    injected: &str,
    happened: &str,
    took: Duration,
    recovery: Option<&Recovery>,
) {
    let happened = happened.replace('|', "\\|");
    let rec = recovery.map_or("–".to_string(), |r| r.to_string().replace('|', "\\|"));
    println!(
        "| {backend} | {injected} | {happened} | {} | {rec} |",
        ms(took)
    );
}

/// A secret unique to this run (a password or token): no error text may hold it.
pub fn marker() -> String {
    format!(
        "marker-secret-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// Builds a scaler and samples every 50 ms from now (the fault just cleared) until a sample
/// returns `want`, as the operator does when a scaler could not be built: it builds it again
/// on the next poll. No recovery within [`POLLING_INTERVAL`] panics.
pub async fn recover_connect(ctx: &Context, input: &TriggerInput, want: f64) -> Recovery {
    let start = Instant::now();
    let mut failed = 0;
    let mut first_error = None;
    loop {
        match scaler(ctx, input).await {
            Ok(s) => {
                let mut r = recover(&s, want).await;
                r.took = start.elapsed();
                r.failed += failed;
                r.first_error = first_error.or(r.first_error);
                return r;
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
        assert!(
            start.elapsed() < POLLING_INTERVAL,
            "no scaler within one polling interval; first error: {first_error:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// This process's resident memory now and at its peak since the last [`reset_peak_rss`], in
/// bytes (Linux `/proc/self/status`: `VmRSS`, `VmHWM`).
pub fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak (`VmHWM`) to the current resident size (Linux ≥ 4.0: `clear_refs` 5).
pub fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

/// Runs `f`, returning its output and how far the process's peak resident memory rose above
/// its size before (other tests of the same binary run alongside, so this is an upper bound).
pub async fn peak_growth<T>(f: impl std::future::Future<Output = T>) -> (T, u64) {
    reset_peak_rss();
    let (before, _) = rss();
    let out = f.await;
    let (_, peak) = rss();
    (out, peak.saturating_sub(before))
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}
