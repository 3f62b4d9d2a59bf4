//! The range query: `/api/v1/query_range` with the `prometheus` trigger's URL rules, headers
//! and auth, and the HTTP client shared with `prometheus` triggers of the same TLS settings.

use crate::error::{Error, Result};
use crate::prometheus::config::PrometheusMetadata;
use serde::Deserialize;
use std::time::Duration;

/// `…/api/v1/query_range?query=…&start=…&end=…&step=…s[&namespace=<raw>][&k=v…]`: the
/// `prometheus` trigger's URL rules with a range instead of `time`.
pub fn range_url(m: &PrometheusMetadata, start: i64, end: i64, step: i64) -> String {
    let esc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut u = format!(
        "{}/api/v1/query_range?query={}&start={start}&end={end}&step={step}s",
        m.server_address.trim_end_matches('/'),
        esc(&m.query),
    );
    if !m.namespace.is_empty() {
        u.push_str(&format!("&namespace={}", m.namespace));
    }
    for (k, v) in &m.query_parameters {
        u.push_str(&format!("&{}={}", esc(k), esc(v)));
    }
    u
}

pub(crate) use crate::prometheus::shared_client;

#[derive(Deserialize)]
struct Body {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    result: Vec<Element>,
}

#[derive(Deserialize)]
struct Element {
    #[serde(default)]
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
}

/// The points of a range-query answer. Non-numbers and `NaN`/`±Inf` become NaN (missing).
pub fn points_of(status: u16, body: &[u8], query: &str) -> Result<Vec<(i64, f64)>> {
    if !(200..300).contains(&status) {
        // Prometheus explains a refusal (bad query, too many points) in `error`; it quotes
        // only the query and the range, never request headers.
        let why = serde_json::from_slice::<ErrorBody>(body)
            .map(|b| b.error)
            .unwrap_or_default();
        let why: String = why.chars().take(300).collect();
        return Err(Error::Query(if why.is_empty() {
            format!("prometheus range query api returned error. status: {status}")
        } else {
            format!("prometheus range query api returned error. status: {status}: {why}")
        }));
    }
    let body: Body = serde_json::from_slice(body).map_err(|e| {
        Error::Value(format!(
            "prometheus range query {query} returned an unexpected body: {e}"
        ))
    })?;
    match body.data.result.as_slice() {
        [] => Ok(Vec::new()),
        [one] => Ok(one
            .values
            .iter()
            .map(|(t, v)| {
                let v = v.parse::<f64>().ok().filter(|v| v.is_finite());
                (t.round() as i64, v.unwrap_or(f64::NAN))
            })
            .collect()),
        _ => Err(Error::Value(format!(
            "prometheus range query {query} returned multiple series"
        ))),
    }
}

/// One range query for `[start, end]` every `step` seconds.
pub async fn range(
    http: &reqwest::Client,
    m: &PrometheusMetadata,
    timeout: Duration,
    start: i64,
    end: i64,
    step: i64,
) -> Result<Vec<(i64, f64)>> {
    let url = range_url(m, start, end, step);
    let (status, body) = crate::prometheus::get_capped(
        || crate::prometheus::with_headers_and_auth(http.get(&url).timeout(timeout), m),
        timeout,
        crate::prometheus::MAX_RANGE_BODY,
        "prometheus range query",
    )
    .await?;
    points_of(status, &body, &m.query)
}
