//! `prometheus`: an instant PromQL query as the metric (spec §5.1). The HTTP client is shared
//! per distinct TLS configuration; each request carries the trigger's headers, auth and
//! timeout.
//!
//! Limits on what a query may cost (README "Limits on user queries"): the whole request (a
//! second attempt included, below) and its body read end within the timeout; an answer larger
//! than [`MAX_INSTANT_BODY`] (10 MiB; range queries [`MAX_RANGE_BODY`], 32 MiB) is refused as
//! soon as its announced length or the bytes received pass the cap, without reading the rest.
//! A request that fails on a reused keep-alive connection before any answer (the server closed
//! it while idle) is sent once more on a new connection.

pub mod config;
pub mod query;

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, Sample, external_metric_name};
use crate::{Clock, Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use config::PrometheusMetadata;
use std::sync::Arc;
use std::time::Duration;

/// A validated `prometheus` trigger.
#[derive(Debug, Clone)]
pub struct PrometheusDefinition {
    pub meta: PrometheusMetadata,
    spec: MetricSpec,
}

/// Parses a `prometheus` trigger.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(PrometheusDefinition::parse(input)?))
}

impl PrometheusDefinition {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let meta = PrometheusMetadata::parse(input)?;
        let spec = MetricSpec::External {
            name: external_metric_name(input.index, "prometheus"),
            target: MetricTarget::from_float(meta.metric_type, meta.threshold),
        };
        Ok(Self { meta, spec })
    }
}

/// The query URL KEDA builds: `/api/v1/query?query=…&time=…[&namespace=<raw>][&k=v…]`.
pub fn query_url(m: &PrometheusMetadata, now: chrono::DateTime<chrono::Utc>) -> String {
    let esc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut u = format!(
        "{}/api/v1/query?query={}&time={}",
        m.server_address.trim_end_matches('/'),
        esc(&m.query),
        esc(&now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    if !m.namespace.is_empty() {
        u.push_str(&format!("&namespace={}", m.namespace));
    }
    for (k, v) in &m.query_parameters {
        u.push_str(&format!("&{}={}", esc(k), esc(v)));
    }
    u
}

/// An HTTP error without the URL (which may carry credentials) or anything secret, with its
/// causes (`connection refused`, `connection reset by peer`, `connection closed before message
/// completed`): reqwest's own text ("error sending request") does not say what went wrong.
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return "request timed out".into();
    }
    let mut text = if e.is_connect() {
        "connection failed".to_string()
    } else {
        e.to_string()
    };
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let t = c.to_string();
        // hyper-util's wrapper texts ("client error (Connect)") add nothing
        if !t.is_empty() && !t.starts_with("client error (") && !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cause = c.source();
    }
    if text.len() > 400 {
        let mut end = 400;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Most bytes read of an instant query's answer (10 MiB). A one-element vector is well under
/// 1 KiB; a bigger answer is refused (the query returns many series, or the server is not
/// Prometheus) without reading the rest.
pub const MAX_INSTANT_BODY: usize = 10 * 1024 * 1024;

/// Most bytes read of a range query's answer (32 MiB): one series of 10,000 points (the most
/// one request asks for) is about 300 KiB.
pub const MAX_RANGE_BODY: usize = 32 * 1024 * 1024;

/// A GET built by `req`, its status and at most `cap` bytes of body, all within `timeout`.
/// A request that fails after it was handed to a (reused, keep-alive) connection, before any
/// answer, is sent once more on a new one, as Go's HTTP client does for idempotent requests:
/// a server or load balancer closing an idle connection is not a failed sample. A body larger
/// than `cap` (announced or received) is an error, and the rest is not read.
pub(crate) async fn get_capped(
    req: impl Fn() -> reqwest::RequestBuilder,
    timeout: Duration,
    cap: usize,
    what: &'static str,
) -> Result<(u16, Vec<u8>)> {
    let fail = |e: reqwest::Error| {
        if e.is_timeout() {
            Error::Timeout {
                what: what.into(),
                after: timeout,
            }
        } else {
            Error::Connect(format!("{what} failed: {}", describe(e)))
        }
    };
    let too_big = || {
        Error::Value(format!(
            "{what} answer is larger than {} MiB, the limit on Prometheus answers: select fewer series",
            cap / (1024 * 1024)
        ))
    };
    let run = async {
        let mut res = match req().send().await {
            Ok(res) => res,
            Err(e) if e.is_request() && !e.is_connect() && !e.is_timeout() => {
                req().send().await.map_err(fail)?
            }
            Err(e) => return Err(fail(e)),
        };
        let status = res.status().as_u16();
        if res.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_big());
        }
        let mut body = Vec::with_capacity(res.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = res.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > cap {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            what: what.into(),
            after: timeout,
        }),
    }
}

/// One client per TLS configuration; KEDA ignores `unsafeSsl` whenever it builds a custom TLS
/// transport (client certificate, or a CA with any auth mode).
fn client(m: &PrometheusMetadata) -> Result<reqwest::Client> {
    let custom_tls = m.auth.client_cert.is_some() || m.auth.ca.is_some();
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .pool_idle_timeout(Duration::from_secs(90));
    if !custom_tls && m.unsafe_ssl {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(ca) = &m.auth.ca {
        let cert = reqwest::Certificate::from_pem(ca.as_bytes()).map_err(|_| {
            Error::Connect("the ca of the prometheus trigger is not a valid PEM certificate".into())
        })?;
        b = b.add_root_certificate(cert);
    }
    if let Some((cert, key)) = &m.auth.client_cert {
        let id =
            reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).map_err(|_| {
                Error::Connect(
                    "the cert and key of the prometheus trigger are not a valid PEM pair".into(),
                )
            })?;
        b = b.identity(id);
    }
    b.build()
        .map_err(|e| Error::Connect(format!("error creating HTTP client: {}", describe(e))))
}

fn client_key(m: &PrometheusMetadata) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&m.auth.client_cert, &m.auth.ca, m.unsafe_ssl).hash(&mut h);
    format!("prometheus-client|{:x}", h.finish())
}

/// A request with the trigger's custom headers and its bearer, basic or custom auth.
pub(crate) fn with_headers_and_auth(
    mut req: reqwest::RequestBuilder,
    m: &PrometheusMetadata,
) -> reqwest::RequestBuilder {
    for (k, v) in &m.custom_headers {
        req = req.header(k, v);
    }
    if let Some(t) = &m.auth.bearer_token {
        req = req.bearer_auth(t);
    }
    if let Some((u, p)) = &m.auth.basic {
        req = req.basic_auth(u, Some(p));
    }
    if let Some((h, v)) = &m.auth.custom {
        req = req.header(h, v);
    }
    req
}

/// The HTTP client for these TLS settings from the shared pools: one per TLS configuration,
/// shared by `prometheus` and `prometheus-forecast` triggers.
pub(crate) async fn shared_client(
    ctx: &Context,
    m: &PrometheusMetadata,
) -> Result<Arc<reqwest::Client>> {
    let meta = m.clone();
    ctx.pools
        .get_or_create::<reqwest::Client, _, _>(&client_key(m), || async move { client(&meta) })
        .await
}

#[async_trait]
impl TriggerDefinition for PrometheusDefinition {
    fn trigger_type(&self) -> &str {
        "prometheus"
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    /// Builds (or reuses) the HTTP client. Like KEDA, no query is sent here: a Prometheus
    /// that is down shows up at the first poll, not as a broken ScaledObject.
    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>> {
        let http = shared_client(ctx, &self.meta).await?;
        let timeout = self.meta.timeout.unwrap_or(ctx.default_timeout);
        let (backend, query_key) = call_keys(&self.meta, timeout);
        Ok(Arc::new(PrometheusScaler {
            spec: self.spec.clone(),
            meta: self.meta.clone(),
            http,
            clock: ctx.clock.clone(),
            timeout,
            calls: crate::coalesce::for_backend(
                &ctx.pools,
                &backend,
                crate::coalesce::MAX_IN_FLIGHT,
            )
            .await,
            query_key,
            consumer: crate::coalesce::consumer_id(),
            sampled: Default::default(),
        }))
    }

    fn is_active(&self, value: f64) -> bool {
        value > self.meta.activation_threshold
    }

    /// One range query of the trigger's own query against its own server.
    async fn history(
        &self,
        ctx: &Context,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        step: Duration,
    ) -> Option<Result<crate::replay::History>> {
        Some(range_history(ctx, &self.meta, from, to, step).await)
    }
}

/// `[from, to]` every `step` (at least 1 s) from `m`'s server, as history points.
pub(crate) async fn range_history(
    ctx: &Context,
    m: &PrometheusMetadata,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    step: Duration,
) -> Result<crate::replay::History> {
    let http = shared_client(ctx, m).await?;
    let timeout = m.timeout.unwrap_or(ctx.default_timeout);
    let step = step.as_secs().max(1) as i64;
    let points = crate::prometheus_forecast::fetch::range(
        &http,
        m,
        timeout,
        from.timestamp(),
        to.timestamp(),
        step,
    )
    .await?;
    Ok(crate::replay::History::Points(
        points
            .into_iter()
            .filter_map(|(t, v)| chrono::DateTime::from_timestamp(t, 0).map(|t| (t, v)))
            .collect(),
    ))
}

/// The backend (TLS client and server) and the query key (everything that makes the answer:
/// query, namespace, parameters, headers, auth, null handling, timeout) of a trigger's calls:
/// triggers with equal keys share one call per cycle ([`crate::coalesce`]). The query key is a
/// digest, as it covers credentials.
fn call_keys(m: &PrometheusMetadata, timeout: Duration) -> (String, String) {
    let backend = format!(
        "{}|{}",
        client_key(m),
        m.server_address.trim_end_matches('/')
    );
    let key = crate::coalesce::digest(&(
        &m.query,
        &m.namespace,
        &m.query_parameters,
        &m.custom_headers,
        &m.auth.bearer_token,
        &m.auth.basic,
        &m.auth.custom,
        m.ignore_null_values,
        timeout,
    ));
    (backend, format!("{key:x}"))
}

/// A live `prometheus` trigger.
pub struct PrometheusScaler {
    spec: MetricSpec,
    meta: PrometheusMetadata,
    http: Arc<reqwest::Client>,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    calls: Arc<crate::coalesce::Coalescer<f64>>,
    query_key: String,
    consumer: u64,
    /// Whether this scaler sampled before (its first sample takes no finished result).
    sampled: std::sync::atomic::AtomicBool,
}

impl PrometheusScaler {
    /// One instant query, sent now.
    async fn query(&self) -> Result<f64> {
        let m = &self.meta;
        let url = query_url(m, self.clock.now());
        let (status, body) = get_capped(
            || with_headers_and_auth(self.http.get(&url).timeout(self.timeout), m),
            self.timeout,
            MAX_INSTANT_BODY,
            "prometheus query",
        )
        .await?;
        query::value_of(status, &body, &m.query, m.ignore_null_values)
    }
}

#[async_trait]
impl Scaler for PrometheusScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.spec
    }

    /// The query's answer, shared with the identical queries of other triggers that poll at
    /// the same moment.
    async fn sample(&self) -> Result<Sample> {
        let value = Error::within(
            "prometheus query",
            self.timeout,
            self.calls.call(
                &self.query_key,
                self.consumer,
                self.sampled
                    .swap(true, std::sync::atomic::Ordering::Relaxed),
                || self.query(),
            ),
        )
        .await?;
        Ok(Sample {
            value,
            active: value > self.meta.activation_threshold,
        })
    }

    fn poll_key(&self) -> Option<u64> {
        Some(crate::coalesce::digest(&(
            "prometheus",
            client_key(&self.meta),
            &self.meta.server_address,
            &self.query_key,
        )))
    }
}
