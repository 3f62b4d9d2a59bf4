//! `metrics-api` metadata and authentication parameters, with KEDA's names, defaults and
//! validation texts (`pkg/scalers/metrics_api_scaler.go`); the auth modes are
//! `crate::http_auth`'s (KEDA's `pkg/scalers/authentication`, shared with `prometheus`).

use super::exposition::Selector;
use super::path::JsonPath;
use crate::error::Result;
use crate::http_auth;
use crate::input::TriggerInput;
use crate::metric::MetricType;
use crate::params::{META, Need, Params};
use std::time::Duration;

/// `format`: how the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Yaml,
    Xml,
    Prometheus,
}

pub use crate::http_auth::{Auth, KeyMethod};

/// A parsed `metrics-api` trigger. Debug shows the URL without user info or query (either
/// may carry a credential) and hides the auth secrets.
#[derive(Clone, PartialEq)]
pub struct MetricsApiMetadata {
    pub url: String,
    pub format: Format,
    pub value_location: String,
    pub target_value: f64,
    pub activation_target_value: f64,
    pub unsafe_ssl: bool,
    pub timeout: Option<Duration>,
    pub auth: Auth,
    pub metric_type: MetricType,
    /// The checked form of `valueLocation` for `json` (other formats are checked below).
    pub json_path: Option<JsonPath>,
    /// The checked form of `valueLocation` for `prometheus`.
    pub selector: Option<Selector>,
}

impl std::fmt::Debug for MetricsApiMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = url::Url::parse(&self.url).map_or_else(
            |_| "<invalid>".to_string(),
            |u| {
                format!(
                    "{}://{}{}",
                    u.scheme(),
                    u.host_str().unwrap_or(""),
                    u.port().map(|p| format!(":{p}")).unwrap_or_default()
                ) + u.path()
            },
        );
        f.debug_struct("MetricsApiMetadata")
            .field("url", &url)
            .field("format", &self.format)
            .field("value_location", &self.value_location)
            .field("target_value", &self.target_value)
            .field("activation_target_value", &self.activation_target_value)
            .field("unsafe_ssl", &self.unsafe_ssl)
            .field("timeout", &self.timeout)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl MetricsApiMetadata {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let mut p = Params::new(input);
        let target_value = p.get::<f64>(&["targetValue"], META, Need::Optional);
        let activation_target_value = p
            .get::<f64>(&["activationTargetValue"], META, Need::Default("0"))
            .unwrap_or(0.0);
        let url = p.string(&["url"], META, Need::Required);
        let format = p.enum_list(
            &["format"],
            META,
            Need::Default("json"),
            &["prometheus", "json", "xml", "yaml"],
        );
        let value_location = p.string(&["valueLocation"], META, Need::Required);
        let unsafe_ssl = p
            .get::<bool>(&["unsafeSsl"], META, Need::Default("false"))
            .unwrap_or(false);
        let aggregate = p
            .get::<bool>(
                &["aggregateFromKubeServiceEndpoints"],
                META,
                Need::Default("false"),
            )
            .unwrap_or(false);
        let _ = p.enum_list(
            &["aggregationType"],
            META,
            Need::Default("average"),
            &["average", "sum", "max", "min"],
        );
        let timeout = p.get::<Duration>(&["timeout"], META, Need::Optional);
        let read = http_auth::read(&mut p, http_auth::METRICS_API);
        let auth = http_auth::check(&mut p, input, read);
        let metric_type = MetricType::for_external(&input.metric_type).unwrap_or_else(|e| {
            p.error(e);
            MetricType::AverageValue
        });

        if target_value.unwrap_or(0.0) == 0.0 && !p.has_errors() {
            p.error("no targetValue given in metadata");
        }
        if aggregate {
            p.error(
                "aggregateFromKubeServiceEndpoints is not supported by Prescale: \
                 point url at one endpoint",
            );
        }
        if !url.is_empty() && !url.starts_with("http://") && !url.starts_with("https://") {
            p.error(format!("url {url:?} must be an http:// or https:// URL"));
        } else if !url.is_empty() && url::Url::parse(&url).is_err() {
            p.error(format!("url {url:?} is not a valid URL"));
        }
        let format = match format.first().map(String::as_str) {
            Some("prometheus") => Format::Prometheus,
            Some("xml") => Format::Xml,
            Some("yaml") => Format::Yaml,
            _ => Format::Json,
        };
        let (mut json_path, mut selector) = (None, None);
        if !value_location.is_empty() {
            let checked = match format {
                Format::Json => JsonPath::parse(&value_location).map(|j| json_path = Some(j)),
                Format::Prometheus => Selector::parse(&value_location).map(|s| selector = Some(s)),
                Format::Yaml | Format::Xml => super::path::check_dotted(&value_location),
            };
            if let Err(e) = checked {
                p.error(format!("valueLocation {value_location:?}: {e}"));
            }
        }
        p.finish("metrics-api")?;
        Ok(Self {
            url,
            format,
            value_location,
            target_value: target_value.unwrap_or(0.0),
            activation_target_value,
            unsafe_ssl,
            timeout,
            auth,
            metric_type,
            json_path,
            selector,
        })
    }
}
