//! `prometheus`: an instant PromQL query as the metric (spec §5.1). The HTTP client is shared
//! per distinct TLS configuration; each request carries the trigger's headers, auth and
//! timeout.

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

/// An HTTP error without the URL (which may carry credentials) or anything secret.
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return "request timed out".into();
    }
    if e.is_connect() {
        return format!(
            "connection failed: {}",
            std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_default()
        );
    }
    e.to_string()
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
        Ok(Arc::new(PrometheusScaler {
            spec: self.spec.clone(),
            meta: self.meta.clone(),
            http,
            clock: ctx.clock.clone(),
            timeout: self.meta.timeout.unwrap_or(ctx.default_timeout),
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

/// A live `prometheus` trigger.
pub struct PrometheusScaler {
    spec: MetricSpec,
    meta: PrometheusMetadata,
    http: Arc<reqwest::Client>,
    clock: Arc<dyn Clock>,
    timeout: Duration,
}

#[async_trait]
impl Scaler for PrometheusScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.spec
    }

    async fn sample(&self) -> Result<Sample> {
        let m = &self.meta;
        let req = with_headers_and_auth(
            self.http
                .get(query_url(m, self.clock.now()))
                .timeout(self.timeout),
            m,
        );
        let fail = |e: reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout {
                    what: "prometheus query".into(),
                    after: self.timeout,
                }
            } else {
                Error::Connect(format!("prometheus query failed: {}", describe(e)))
            }
        };
        let res = req.send().await.map_err(fail)?;
        let status = res.status().as_u16();
        let body = res.bytes().await.map_err(fail)?;
        let value = query::value_of(status, &body, &m.query, m.ignore_null_values)?;
        Ok(Sample {
            value,
            active: value > m.activation_threshold,
        })
    }
}
