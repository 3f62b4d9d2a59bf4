//! `metrics-api`: a number read from any HTTP API, as KEDA's `metrics-api` trigger
//! (`pkg/scalers/metrics_api_scaler.go`).
//!
//! Parameters (trigger metadata unless said otherwise):
//! - `url` (required): the full `http://` or `https://` URL fetched with GET.
//! - `format`: `json` (default), `yaml`, `xml` or `prometheus` (text exposition).
//! - `valueLocation` (required): where the number is; its syntax per format is in
//!   [`path`] (json, yaml, xml) and [`exposition`] (prometheus).
//! - `targetValue` (required, not 0): the HPA target (`AverageValue` unless `metricType:
//!   Value`); `activationTargetValue` (default 0): active ⇔ value > it.
//! - `unsafeSsl` (default false): skip server certificate checks (also with `tls` auth, as
//!   KEDA does).
//! - `timeout`: a Go duration or milliseconds for the whole request, body included (Prescale's
//!   addition; default: the operator's HTTP timeout, 3 s, as KEDA's global timeout).
//! - `authModes` / `authMode` (metadata or authParams): any of `apiKey`, `basic`, `bearer`,
//!   `tls`, `custom` (and `oauth`, checked but not applied, as in KEDA):
//!   - `apiKey` (metadata or authParams) sent as a header (`method: header`, the default;
//!     header `keyParamName`, default `X-API-KEY`) or a query parameter (`method: query`;
//!     `keyParamName` default `api_key`);
//!   - `username`/`password` (authParams) as HTTP basic auth;
//!   - `token`/`bearerToken` (authParams) as `Authorization: Bearer …`;
//!   - `cert`/`key` (PEM, authParams) as the client certificate, `ca` (PEM) trusted besides
//!     the system roots;
//!   - `customAuthHeader`/`customAuthValue` (authParams) as one more header (KEDA parses these
//!     for `metrics-api` but never sends them; Prescale sends them).
//! - `aggregateFromKubeServiceEndpoints` is refused (Prescale does not read EndpointSlices);
//!   `aggregationType` is read only to be checked.
//!
//! The metric is `s<i>-metric-api-<valueLocation>` (KEDA's normalisation), its value the number
//! read. A status other than 200 is KEDA's error `<url path>: api returned <code>`. Limits (see
//! docs/reliability.md): the request and its body end within the timeout; a body over
//! [`MAX_BODY`] is refused without reading the rest. Secrets (API key, password, token, key)
//! never reach an error: the URL with the key is not printed and reqwest's errors are shown
//! without their URL.

pub mod config;
pub mod exposition;
pub mod path;

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, Sample, external_metric_name};
use crate::{Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use config::{Format, KeyMethod, MetricsApiMetadata};
use std::sync::Arc;
use std::time::Duration;

/// Most bytes read of an answer (4 MiB): a JSON document or a `/metrics` page is far smaller.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// A validated `metrics-api` trigger.
#[derive(Debug, Clone)]
pub struct MetricsApiDefinition {
    pub meta: MetricsApiMetadata,
    spec: MetricSpec,
}

/// Parses a `metrics-api` trigger.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(MetricsApiDefinition::parse(input)?))
}

impl MetricsApiDefinition {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let meta = MetricsApiMetadata::parse(input)?;
        let spec = MetricSpec::External {
            name: external_metric_name(input.index, &format!("metric-api-{}", meta.value_location)),
            target: MetricTarget::from_float(meta.metric_type, meta.target_value),
        };
        Ok(Self { meta, spec })
    }
}

/// The value at `valueLocation` in `body`, read as `format`.
pub fn value_of(m: &MetricsApiMetadata, body: &[u8]) -> std::result::Result<f64, String> {
    match m.format {
        Format::Json => match &m.json_path {
            Some(p) => p.value(body),
            None => path::JsonPath::parse(&m.value_location)?.value(body),
        },
        Format::Yaml => path::yaml_value(body, &m.value_location),
        Format::Xml => path::xml_value(body, &m.value_location),
        Format::Prometheus => {
            let parsed;
            let sel = match &m.selector {
                Some(s) => s,
                None => {
                    parsed = exposition::Selector::parse(&m.value_location)?;
                    &parsed
                }
            };
            exposition::value(body, sel, &m.value_location)
        }
    }
}

/// The HTTP client for this trigger's TLS settings.
fn client(m: &MetricsApiMetadata) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .pool_idle_timeout(Duration::from_secs(90))
        .danger_accept_invalid_certs(m.unsafe_ssl);
    if let Some(ca) = &m.auth.ca {
        let cert = reqwest::Certificate::from_pem(ca.as_bytes()).map_err(|_| {
            Error::Connect(
                "the ca of the metrics-api trigger is not a valid PEM certificate".into(),
            )
        })?;
        b = b.add_root_certificate(cert);
    }
    if let Some((cert, key)) = &m.auth.client_cert {
        let id =
            reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).map_err(|_| {
                Error::Connect(
                    "the cert and key of the metrics-api trigger are not a valid PEM pair".into(),
                )
            })?;
        b = b.identity(id);
    }
    b.build().map_err(|e| {
        Error::Connect(format!(
            "error creating HTTP client: {}",
            crate::prometheus::describe(e)
        ))
    })
}

fn client_key(m: &MetricsApiMetadata) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&m.auth.client_cert, &m.auth.ca, m.unsafe_ssl).hash(&mut h);
    format!("metrics-api-client|{:x}", h.finish())
}

#[async_trait]
impl TriggerDefinition for MetricsApiDefinition {
    fn trigger_type(&self) -> &str {
        "metrics-api"
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    /// Builds (or reuses) the HTTP client; like KEDA, nothing is fetched until the first poll.
    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>> {
        let meta = self.meta.clone();
        let http = ctx
            .pools
            .get_or_create::<reqwest::Client, _, _>(&client_key(&self.meta), || async move {
                client(&meta)
            })
            .await?;
        let url = request_url(&self.meta)?;
        Ok(Arc::new(MetricsApiScaler {
            spec: self.spec.clone(),
            meta: self.meta.clone(),
            http,
            url,
            timeout: self.meta.timeout.unwrap_or(ctx.default_timeout),
        }))
    }

    fn is_active(&self, value: f64) -> bool {
        value > self.meta.activation_target_value
    }
}

/// The URL requested: `url`, with the API key as a query parameter for `method: query`.
fn request_url(m: &MetricsApiMetadata) -> Result<url::Url> {
    let mut u = url::Url::parse(&m.url)
        .map_err(|_| Error::Connect("the url of the metrics-api trigger is not valid".into()))?;
    if let Some((KeyMethod::Query, name, key)) = &m.auth.api_key {
        // set, not add: a parameter of that name already in the URL is replaced (Go's Set)
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| k != name)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        u.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair(name, key);
    }
    Ok(u)
}

/// A live `metrics-api` trigger.
pub struct MetricsApiScaler {
    spec: MetricSpec,
    meta: MetricsApiMetadata,
    http: Arc<reqwest::Client>,
    url: url::Url,
    timeout: Duration,
}

impl MetricsApiScaler {
    fn request(&self) -> reqwest::RequestBuilder {
        let a = &self.meta.auth;
        let mut req = self.http.get(self.url.clone()).timeout(self.timeout);
        if let Some((KeyMethod::Header, name, key)) = &a.api_key {
            req = req.header(name, key);
        }
        if let Some((u, p)) = &a.basic {
            req = req.basic_auth(u, Some(p));
        }
        if let Some(t) = &a.bearer_token {
            req = req.bearer_auth(t);
        }
        if let Some((h, v)) = &a.custom {
            req = req.header(h, v);
        }
        req
    }

    /// GET with the body capped at [`MAX_BODY`], all within the timeout (a second attempt
    /// included).
    async fn fetch(&self) -> Result<Vec<u8>> {
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                return Error::Timeout {
                    what: "metrics-api request".into(),
                    after: self.timeout,
                };
            }
            Error::Connect(format!(
                "error requesting metrics endpoint: {}",
                crate::prometheus::describe(e)
            ))
        };
        let too_big = || {
            Error::Value(format!(
                "error requesting metrics endpoint: the answer is larger than {} MiB, the limit on metrics-api answers",
                MAX_BODY / (1024 * 1024)
            ))
        };
        let run = async {
            // a request that failed on a reused keep-alive connection before any answer (the
            // server closed it while idle) is sent once more, as Go's client does for a GET
            let mut res = match self.request().send().await {
                Ok(res) => res,
                Err(e) if e.is_request() && !e.is_connect() && !e.is_timeout() => {
                    self.request().send().await.map_err(failed)?
                }
                Err(e) => return Err(failed(e)),
            };
            let status = res.status().as_u16();
            if status != 200 {
                return Err(Error::Query(format!(
                    "error requesting metrics endpoint: {}: api returned {status}",
                    self.url.path()
                )));
            }
            if res.content_length().is_some_and(|n| n > MAX_BODY as u64) {
                return Err(too_big());
            }
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await.map_err(failed)? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        Error::within("metrics-api request", self.timeout, run).await
    }
}

#[async_trait]
impl Scaler for MetricsApiScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.spec
    }

    async fn sample(&self) -> Result<Sample> {
        let body = self.fetch().await?;
        let value = value_of(&self.meta, &body)
            .map_err(|e| Error::Value(format!("error requesting metrics endpoint: {e}")))?;
        Ok(Sample {
            value,
            active: value > self.meta.activation_target_value,
        })
    }
}
