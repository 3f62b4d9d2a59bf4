//! `metrics-api` `sample()` against the raw HTTP call, in the same run on the same server (a
//! real Prometheus): its own `/metrics` page read with `format: prometheus`, and an instant
//! query's JSON read with `format: json`. "Raw" is the same GET with reqwest and the body read;
//! "raw + parse" adds the bare parse (`prometheus_parse::Scrape::parse` / `serde_json`) without
//! Prescale's line checks and lookup. Prints a Markdown table with the ratios.
//!
//! Run: `cargo bench -p prescale-benches --bench metrics_api` (`-- --n N` for N calls).

use prescale_scalers::{Context, Scaler, TriggerInput, registry};
use prescale_testkit::prometheus::PrometheusServer;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One row: the source, Prescale's mean, and the two raw means.
pub struct Row {
    pub name: &'static str,
    pub body_bytes: usize,
    pub value: f64,
    pub ours: Duration,
    pub raw: Duration,
    pub raw_parse: Duration,
}

async fn mean<F, Fut>(n: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..n / 10 + 1 {
        f().await; // warm-up
    }
    let t = Instant::now();
    for _ in 0..n {
        f().await;
    }
    t.elapsed() / n as u32
}

async fn scaler(url: &str, format: &str, location: &str) -> Arc<dyn Scaler> {
    let input = TriggerInput::new(
        "metrics-api",
        0,
        &[
            ("url", url),
            ("format", format),
            ("valueLocation", location),
            ("targetValue", "1"),
        ],
    );
    registry::parse(&input)
        .expect("parse")
        .connect(&Context::default())
        .await
        .expect("connect")
}

async fn get(http: &reqwest::Client, url: &str) -> Vec<u8> {
    http.get(url)
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body")
        .to_vec()
}

/// Measures both formats with `n` calls each against `p`.
pub async fn run(p: &PrometheusServer, n: usize) -> Vec<Row> {
    let http = reqwest::Client::new();
    let metrics = format!("{}/metrics", p.address());
    let query = format!("{}/api/v1/query?query=42", p.address());
    let cases = [
        (
            "prometheus /metrics page",
            metrics.as_str(),
            "prometheus",
            "prometheus_config_last_reload_successful",
        ),
        (
            "json instant query",
            query.as_str(),
            "json",
            "data.result.1",
        ),
    ];
    let mut rows = Vec::new();
    for (name, url, format, location) in cases {
        let s = scaler(url, format, location).await;
        let value = s.sample().await.expect("sample").value;
        let ours = mean(n, || async {
            s.sample().await.expect("sample");
        })
        .await;
        let raw = mean(n, || async {
            get(&http, url).await;
        })
        .await;
        let raw_parse = mean(n, || async {
            let body = get(&http, url).await;
            if format == "json" {
                let _: serde_json::Value = serde_json::from_slice(&body).expect("json");
            } else {
                let text = String::from_utf8(body).expect("utf8");
                let _ = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
                    .expect("exposition");
            }
        })
        .await;
        rows.push(Row {
            name,
            body_bytes: get(&http, url).await.len(),
            value,
            ours,
            raw,
            raw_parse,
        });
    }
    rows
}

#[allow(dead_code)]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n = prescale_benches::arg("--n", 2000usize);
    let p = PrometheusServer::start();
    let rows = run(&p, n).await;
    let us = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6);
    println!(
        "{n} sequential calls each after {} warm-up calls",
        n / 10 + 1
    );
    println!(
        "| body | bytes | sample() mean µs | raw GET µs | ratio | raw GET + bare parse µs | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.2} | {} | {:.2} |",
            r.name,
            r.body_bytes,
            us(r.ours),
            us(r.raw),
            r.ours.as_secs_f64() / r.raw.as_secs_f64(),
            us(r.raw_parse),
            r.ours.as_secs_f64() / r.raw_parse.as_secs_f64()
        );
    }
}
